package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	commonv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/common/v1"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
)

// The flag vocabulary, the same in every command:
//
//   - a date is YYYY-MM-DD, today, today-N or today+N (Europe/Paris);
//     --from and --to are always the first and last days of a range;
//   - --period is always a month, YYYY-MM, or a range of months
//     YYYY-MM..YYYY-MM where the command reports over several;
//   - --territory is repeatable (--territory T05 --territory T14) and takes
//     comma-separated codes too (--territory T05,T14).

// dateHelp ends the help of a date flag.
const dateHelp = "YYYY-MM-DD, today, today-N or today+N (Europe/Paris)"

// parseDate reads a date flag: YYYY-MM-DD, "today" (in Europe/Paris),
// "today-N" (N days before today) or "today+N" (N days after).
func parseDate(flag, value string) (*commonv1.Date, error) {
	if rest, ok := strings.CutPrefix(value, "today"); ok {
		days := 0
		if rest != "" {
			n, err := strconv.Atoi(rest[min(1, len(rest)):])
			if (rest[0] != '-' && rest[0] != '+') || err != nil || n < 0 || n > 36600 {
				return nil, usageError{fmt.Errorf("--%s: %q is not today, today-N or today+N", flag, value)}
			}
			days = n
			if rest[0] == '-' {
				days = -n
			}
		}
		return civilpb.FromDate(civil.Of(time.Now()).AddDays(days)), nil
	}
	d, err := civil.Parse(value)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %q is not a date %s", flag, value, dateHelp)}
	}
	return civilpb.FromDate(d), nil
}

// optionalDate reads a date flag that may be left empty (nil).
func optionalDate(flag, value string) (*commonv1.Date, error) {
	if value == "" {
		return nil, nil
	}
	return parseDate(flag, value)
}

// parseMonth reads a month, YYYY-MM.
func parseMonth(flag, value string) (*commonv1.Month, error) {
	m, err := civil.ParseMonth(strings.TrimSpace(value))
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s: %q is not a month YYYY-MM", flag, value)}
	}
	return civilpb.FromMonth(m), nil
}

// parseMonthRange reads a range of months, YYYY-MM..YYYY-MM, or one month
// (the range of that month alone).
func parseMonthRange(flag, value string) (from, to *commonv1.Month, err error) {
	first, last, isRange := strings.Cut(value, "..")
	if !isRange {
		last = first
	}
	if from, err = parseMonth(flag, first); err != nil {
		return nil, nil, usageError{fmt.Errorf("--%s: %q is not a month YYYY-MM nor a range YYYY-MM..YYYY-MM", flag, value)}
	}
	if to, err = parseMonth(flag, last); err != nil {
		return nil, nil, usageError{fmt.Errorf("--%s: %q is not a month YYYY-MM nor a range YYYY-MM..YYYY-MM", flag, value)}
	}
	if civilpb.Month(to).Compare(civilpb.Month(from)) < 0 {
		return nil, nil, usageError{fmt.Errorf("--%s: %q ends before it starts", flag, value)}
	}
	return from, to, nil
}

// addPeriodRange adds --period for a range of months.
func addPeriodRange(fs *pflag.FlagSet, value *string) {
	fs.StringVar(value, "period", "", "a month, YYYY-MM, or a range of months, YYYY-MM..YYYY-MM (at most 120 months)")
}

// addTerritories adds --territory, repeatable and comma-separated.
func addTerritories(fs *pflag.FlagSet, codes *[]string, usage string) {
	fs.StringSliceVar(codes, "territory", nil, usage+"; repeatable (--territory T05 --territory T14) or comma-separated (T05,T14)")
}

// territories is the codes given, each once, in the order given.
func territories(codes []string) []string {
	var out []string
	for _, c := range codes {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// oneTerritory is the single territory of what has exactly one (a
// learner's, a platform's); more than one is a usage error.
func oneTerritory(codes []string, what string) (string, error) {
	codes = territories(codes)
	switch len(codes) {
	case 0:
		return "", nil
	case 1:
		return codes[0], nil
	}
	return "", usageError{fmt.Errorf("--territory: %s has one territory, got %s", what, strings.Join(codes, ", "))}
}

// addPage adds --page-size and --page-token; noun names what a page holds.
func addPage(fs *pflag.FlagSet, size *int32, token *string, noun string) {
	fs.Int32Var(size, "page-size", 0, noun+" per page (default 50, at most 200)")
	fs.StringVar(token, "page-token", "", "next page token printed by the previous page")
}

// changed is the flag's value when it was given, nil otherwise.
func changed[T any](fs *pflag.FlagSet, name string, value T) *T {
	if !fs.Changed(name) {
		return nil
	}
	return &value
}

// nothingToChange is the usage error of an update given no flag to change.
func nothingToChange(flags ...string) error {
	return usageError{errors.New("nothing to change: give " + strings.Join(flags, ", "))}
}
