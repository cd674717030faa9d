package main

import (
	"strings"
	"unicode"
)

// code renders s as an inline code span fit for a table cell.
func code(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// cell renders text as the content of one table cell: on one line, with
// the characters that would end the cell or open HTML escaped.
func cell(text string) string {
	return strings.ReplaceAll(escapeInline(strings.Join(strings.Fields(text), " ")), "|", `\|`)
}

// escapeInline escapes, outside code spans, what Markdown would read as
// HTML: "<" (subjects such as avenir.x.y.<id>.z are common in comments).
func escapeInline(s string) string {
	var b strings.Builder
	inCode := false
	for _, r := range s {
		switch {
		case r == '`':
			inCode = !inCode
			b.WriteRune(r)
		case r == '<' && !inCode:
			b.WriteString("&lt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// commentMarkdown renders a proto comment (the text after "//" on each
// line) as Markdown blocks: paragraphs of the unindented lines, lists of
// the lines starting with "- " (with their more indented continuation
// lines), and code blocks of the other indented lines, whose alignment
// matters (subject tables).
func commentMarkdown(comment string) string {
	lines := strings.Split(strings.TrimRight(comment, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.TrimPrefix(l, " "), " \t")
	}
	var out []string
	var para []string
	var codeBlock []string
	listIndent := -1 // the indentation of the current list's dashes, -1 outside a list
	flushPara := func() {
		if len(para) > 0 {
			out = append(out, escapeInline(strings.Join(para, " ")))
			para = nil
		}
	}
	flushCode := func() {
		if len(codeBlock) > 0 {
			out = append(out, "```\n"+strings.Join(codeBlock, "\n")+"\n```")
			codeBlock = nil
		}
	}
	var list []string
	flushList := func() {
		if len(list) > 0 {
			out = append(out, strings.Join(list, "\n"))
			list = nil
		}
		listIndent = -1
	}
	for _, l := range lines {
		trimmed := strings.TrimLeftFunc(l, unicode.IsSpace)
		indent := len(l) - len(trimmed)
		switch {
		case trimmed == "":
			flushPara()
			flushCode()
			flushList()
		case strings.HasPrefix(trimmed, "- ") || strings.HasPrefix(trimmed, "* "):
			flushPara()
			flushCode()
			if listIndent < 0 {
				listIndent = indent
			}
			list = append(list, "- "+escapeInline(strings.TrimSpace(trimmed[2:])))
		case listIndent >= 0 && indent > listIndent:
			list[len(list)-1] += " " + escapeInline(trimmed)
		case indent > 0:
			flushPara()
			flushList()
			codeBlock = append(codeBlock, l)
		default:
			flushCode()
			flushList()
			para = append(para, trimmed)
		}
	}
	flushPara()
	flushCode()
	flushList()
	return strings.Join(out, "\n\n")
}

// slug returns the anchor GitHub gives a heading: lower case, punctuation
// removed (letters, digits, spaces, "-" and "_" kept), spaces as "-".
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
