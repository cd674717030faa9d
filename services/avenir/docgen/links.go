package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The documents whose links are checked: README.md and docs/**/*.md.
func markdownFiles(root string) ([]string, error) {
	files := []string{readmeFile}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".md" {
			return err
		}
		rel, err := filepath.Rel(root, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	return files, err
}

var (
	// inlineLink matches [text](target) and [text](target "title"), and
	// images; the text may hold code spans but no brackets.
	inlineLink = regexp.MustCompile(`\[[^\[\]]*\]\(\s*<?([^()\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// referenceLink matches a link reference definition: [label]: target.
	referenceLink = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s+<?([^\s>]+)>?`)
	// htmlLink matches href="..." of raw HTML.
	htmlLink = regexp.MustCompile(`\bhref="([^"]*)"`)
	// htmlAnchor matches the ids and names of raw HTML elements.
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	// codeSpan matches inline code, whose brackets are not links.
	codeSpan = regexp.MustCompile("`+[^`]*`+")
	// heading matches an ATX heading.
	heading = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	// scheme starts an absolute URL (https:, mailto:).
	scheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// prose returns the lines of a Markdown document outside fenced code
// blocks, with their line numbers (from 1).
func prose(doc string) (lines []string, numbers []int) {
	fence := ""
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			n := len(trimmed) - len(strings.TrimLeft(trimmed, trimmed[:1]))
			fence = strings.Repeat(trimmed[:1], n)
			continue
		}
		lines = append(lines, line)
		numbers = append(numbers, i+1)
	}
	return lines, numbers
}

// anchors returns the fragments a Markdown document defines: its headings'
// GitHub anchors (a repeated heading gets -1, -2…) and the ids of its HTML
// anchors.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	lines, _ := prose(doc)
	for _, line := range lines {
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			out[m[1]] = true
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		text := inlineLink.ReplaceAllStringFunc(m[1], func(link string) string {
			return link[1:strings.Index(link, "](")]
		})
		s := slug(text)
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// brokenLinks checks every relative link of the given documents (paths
// relative to root): its file or directory exists inside root, and its
// fragment, when it points into a Markdown document, is an anchor of it.
// It returns one problem per broken link, naming the document and line.
func brokenLinks(root string, docs []string) ([]string, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	anchorsOf := map[string]map[string]bool{}
	docAnchors := func(path string) (map[string]bool, error) {
		if a, ok := anchorsOf[path]; ok {
			return a, nil
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		anchorsOf[path] = anchors(string(text))
		return anchorsOf[path], nil
	}
	var problems []string
	for _, doc := range docs {
		path := filepath.Join(absRoot, filepath.FromSlash(doc))
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		lines, numbers := prose(string(text))
		for i, line := range lines {
			line = codeSpan.ReplaceAllString(line, "")
			var targets []string
			for _, re := range []*regexp.Regexp{inlineLink, referenceLink, htmlLink} {
				for _, m := range re.FindAllStringSubmatch(line, -1) {
					targets = append(targets, m[1])
				}
			}
			for _, target := range targets {
				if problem := checkLink(absRoot, path, target, docAnchors); problem != "" {
					problems = append(problems, fmt.Sprintf("%s:%d: %s", doc, numbers[i], problem))
				}
			}
		}
	}
	return problems, nil
}

// checkLink checks one link target of the document at path; "" means it
// resolves.
func checkLink(root, path, target string, docAnchors func(string) (map[string]bool, error)) string {
	if target == "" {
		return "empty link"
	}
	if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return "" // absolute URLs are not checked (no network)
	}
	file, fragment, _ := strings.Cut(target, "#")
	resolved := path
	if file != "" {
		if strings.HasPrefix(file, "/") {
			resolved = filepath.Join(root, filepath.FromSlash(file))
		} else {
			resolved = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
		}
		if rel, err := filepath.Rel(root, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Sprintf("%s points outside the repository", target)
		}
		if _, err := os.Stat(resolved); err != nil {
			return fmt.Sprintf("%s: no such file", target)
		}
	}
	if fragment == "" || filepath.Ext(resolved) != ".md" {
		return ""
	}
	a, err := docAnchors(resolved)
	if err != nil {
		return fmt.Sprintf("%s: %v", target, err)
	}
	if !a[fragment] {
		return fmt.Sprintf("%s: no heading or anchor %q in %s", target, fragment, filepath.Base(resolved))
	}
	return ""
}
