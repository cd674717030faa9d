package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"

	immersionv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/immersion/v1"
)

var (
	immersionOutcomes = enumFlag{immersionv1.OutcomeStatus(0).Descriptor(), "OUTCOME_STATUS_"}
	immersionFits     = enumFlag{immersionv1.TradeFit(0).Descriptor(), "TRADE_FIT_"}
	immersionStatuses = enumFlag{immersionv1.BookingStatus(0).Descriptor(), "BOOKING_STATUS_"}
	immersionCauses   = enumFlag{immersionv1.CancellationCause(0).Descriptor(), "CANCELLATION_CAUSE_"}
	immersionDrops    = enumFlag{immersionv1.DropReason(0).Descriptor(), "DROP_REASON_"}
)

func newImmersionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "immersions", Short: "#Action immersions: offers, sessions, bookings with a waitlist, outcomes, statistics (immersion)"}
	offers := &cobra.Command{Use: "offers", Short: "Publish, update, withdraw and read accredited offers"}
	offers.AddCommand(newImmersionsOffersPublishCmd(), newImmersionsOffersUpdateCmd(), newImmersionsOffersWithdrawCmd(), newImmersionsOffersGetCmd())
	sessions := &cobra.Command{Use: "sessions", Short: "Schedule, resize, read and search the sessions of offers"}
	sessions.AddCommand(newImmersionsSessionsScheduleCmd(), newImmersionsSessionsCapacityCmd(), newImmersionsSessionsGetCmd(), newImmersionsSessionsSearchCmd())
	cmd.AddCommand(offers, sessions, newImmersionsBookCmd(), newImmersionsCancelCmd(), newImmersionsOutcomeCmd(),
		newImmersionsBookingsCmd(), newImmersionsStatsCmd())
	return cmd
}

// immersionCommand builds a command calling one RPC of ImmersionService and
// printing its answer.
func immersionCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(immersionv1.NewImmersionServiceClient, use, short, example, args, setup, run)
}

// offerFlags are the flags of an offer's whole profile.
type offerFlags struct {
	p         immersionv1.OfferProfile
	platform  immersionv1.TechnicalPlatform
	territory []string
	from, to  string
}

func (of *offerFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&of.p.OperatorId, "operator-id", "", "the training operator running the platform")
	fs.StringVar(&of.platform.Name, "platform-name", "", "name of the accredited technical platform (at most 200 characters)")
	fs.StringVar(&of.platform.Address, "address", "", "postal address of the platform (at most 300 characters)")
	fs.StringVar(&of.platform.CommuneCode, "commune", "", "INSEE code of the platform's commune, e.g. 27229")
	fs.StringSliceVar(&of.territory, "territory", nil, "territory of the platform (one), e.g. T05")
	fs.StringSliceVar(&of.p.RomeCodes, "rome-codes", nil, "trades that can be discovered, ROME codes, comma-separated (H2909,H2913)")
	fs.StringVar(&of.from, "accredited-from", "", "first day of the accreditation, "+dateHelp)
	fs.StringVar(&of.to, "accredited-to", "", "last day of the accreditation, "+dateHelp)
	fs.BoolVar(&of.p.Accessible, "accessible", false, "the platform welcomes people with disabilities")
	fs.StringVar(&of.p.Description, "description", "", "what the learner does there (at most 2,000 characters)")
}

var offerRequired = []string{"operator-id", "platform-name", "address", "commune", "territory", "rome-codes", "accredited-from", "accredited-to"}

func (of *offerFlags) profile() (*immersionv1.OfferProfile, error) {
	var err error
	if of.platform.TerritoryCode, err = oneTerritory(of.territory, "a platform"); err != nil {
		return nil, err
	}
	if of.p.AccreditedFrom, err = parseDate("accredited-from", of.from); err != nil {
		return nil, err
	}
	if of.p.AccreditedTo, err = parseDate("accredited-to", of.to); err != nil {
		return nil, err
	}
	of.p.Platform = &of.platform
	return &of.p, nil
}

func newImmersionsOffersPublishCmd() *cobra.Command {
	var of offerFlags
	var rid string
	cmd := immersionCommand("publish", "Publish an accredited offer on a technical platform (admins)",
		"  avenir immersions offers publish --operator-id op-evreux --platform-name \"Plateau bâtiment AFPA Évreux\" \\\n"+
			"      --address \"12 rue de la Forêt, 27000 Évreux\" --commune 27229 --territory T05 --rome-codes F1703,F1602 \\\n"+
			"      --accredited-from 2026-09-01 --accredited-to 2027-08-31 --accessible",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			of.add(fs)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			p, err := of.profile()
			if err != nil {
				return err
			}
			resp, err := c.PublishOffer(ctx, &immersionv1.PublishOfferRequest{RequestId: requestID(rid), Profile: p})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetOffer(), offerRows(resp.GetOffer()))
		})
	return required(cmd, offerRequired...)
}

func newImmersionsOffersUpdateCmd() *cobra.Command {
	var of offerFlags
	var rid string
	cmd := immersionCommand("update OFFER_ID", "Replace an offer's whole profile; the operator stays (admins)",
		"  avenir immersions offers update $offer --operator-id op-evreux --platform-name \"Plateau bâtiment AFPA Évreux\" \\\n"+
			"      --address \"12 rue de la Forêt, 27000 Évreux\" --commune 27229 --territory T05 --rome-codes F1703,F1602,F1610 \\\n"+
			"      --accredited-from 2026-09-01 --accredited-to 2027-08-31 --accessible",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			of.add(fs)
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			p, err := of.profile()
			if err != nil {
				return err
			}
			resp, err := c.UpdateOffer(ctx, &immersionv1.UpdateOfferRequest{RequestId: requestID(rid), OfferId: args[0], Profile: p})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetOffer(), offerRows(resp.GetOffer()))
		})
	return required(cmd, offerRequired...)
}

func newImmersionsOffersWithdrawCmd() *cobra.Command {
	var rid, reason string
	cmd := immersionCommand("withdraw OFFER_ID --reason TEXT", "Withdraw an offer: its sessions starting after today are cancelled, with their bookings (admins)",
		"  avenir immersions offers withdraw $offer --reason \"accreditation not renewed\"",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (at most 500 characters)")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			resp, err := c.WithdrawOffer(ctx, &immersionv1.WithdrawOfferRequest{RequestId: requestID(rid), OfferId: args[0], Reason: reason})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetOffer(), offerRows(resp.GetOffer()))
		})
	return required(cmd, "reason")
}

func newImmersionsOffersGetCmd() *cobra.Command {
	return immersionCommand("get OFFER_ID", "Show an offer and its sessions", "  avenir immersions offers get $offer",
		cobra.ExactArgs(1), nil,
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			resp, err := c.GetOffer(ctx, &immersionv1.GetOfferRequest{OfferId: args[0]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetOffer(), offerRows(resp.GetOffer()))
		})
}

func newImmersionsSessionsScheduleCmd() *cobra.Command {
	var req immersionv1.ScheduleSessionRequest
	var from, to, deadline string
	cmd := immersionCommand("schedule OFFER_ID", "Schedule a session of an offer, within its accreditation (admins, the offer's operator)",
		"  avenir immersions sessions schedule $offer --from 2026-12-07 --to 2026-12-11 --daily-minutes 420 --capacity 8 \\\n"+
			"      --booking-deadline 2026-12-02",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.StringVar(&from, "from", "", "first day, "+dateHelp+"; not in the past")
			fs.StringVar(&to, "to", "", "last day (at most 30 calendar days, both included), "+dateHelp)
			fs.Int32Var(&req.DailyMinutes, "daily-minutes", 0, "minutes of immersion each day, 1 to 600")
			fs.Int32Var(&req.Capacity, "capacity", 0, "places, 1 to 200")
			fs.StringVar(&deadline, "booking-deadline", "", "last day to book, not after --from (default: --from), "+dateHelp)
			addRequestID(fs, &req.RequestId)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			var err error
			if req.FromDate, err = parseDate("from", from); err != nil {
				return err
			}
			if req.ToDate, err = parseDate("to", to); err != nil {
				return err
			}
			req.BookingDeadline = req.FromDate
			if deadline != "" {
				if req.BookingDeadline, err = parseDate("booking-deadline", deadline); err != nil {
					return err
				}
			}
			req.OfferId, req.RequestId = args[0], requestID(req.RequestId)
			resp, err := c.ScheduleSession(ctx, &req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetSession(), sessionRows(resp.GetSession(), f.learnerNames(ctx, sessionLearners(resp.GetSession())...)))
		})
	return required(cmd, "from", "to", "daily-minutes", "capacity")
}

func newImmersionsSessionsCapacityCmd() *cobra.Command {
	var req immersionv1.ChangeSessionCapacityRequest
	cmd := immersionCommand("capacity SESSION_ID --capacity N", "Grow a session (promoting waitlisted learners) or shrink it down to the places booked (admins, the session's operator)",
		"  avenir immersions sessions capacity $session --capacity 10",
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) {
			fs.Int32Var(&req.Capacity, "capacity", 0, "places, 1 to 200, not below the places booked")
			addRequestID(fs, &req.RequestId)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			req.SessionId, req.RequestId = args[0], requestID(req.RequestId)
			resp, err := c.ChangeSessionCapacity(ctx, &req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetSession(), sessionRows(resp.GetSession(), f.learnerNames(ctx, sessionLearners(resp.GetSession())...)))
		})
	return required(cmd, "capacity")
}

func newImmersionsSessionsGetCmd() *cobra.Command {
	return immersionCommand("get SESSION_ID", "Show a session with its places and its waitlist in order", "  avenir immersions sessions get $session",
		cobra.ExactArgs(1), nil,
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			resp, err := c.GetSession(ctx, &immersionv1.GetSessionRequest{SessionId: args[0]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetSession(), sessionRows(resp.GetSession(), f.learnerNames(ctx, sessionLearners(resp.GetSession())...)))
		})
}

func newImmersionsSessionsSearchCmd() *cobra.Command {
	var req immersionv1.SearchSessionsRequest
	var codes []string
	var from, to string
	cmd := immersionCommand("search", "Find sessions by trade, territory, dates, free places and accessibility, by first day",
		"  avenir immersions sessions search --rome-code F1703 --territory T05 --territory T14 --only-with-free-places\n"+
			"  avenir immersions sessions search --from 2026-12-01 --to 2026-12-31 --accessible-only -o json",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.RomeCode, "rome-code", "", "a trade, ROME code, e.g. F1703")
			addTerritories(fs, &codes, "only these territories")
			fs.StringVar(&from, "from", "", "sessions starting on or after that day (default today), "+dateHelp)
			fs.StringVar(&to, "to", "", "sessions starting on or before that day, "+dateHelp)
			fs.BoolVar(&req.OnlyWithFreePlaces, "only-with-free-places", false, "leave out full sessions")
			fs.BoolVar(&req.AccessibleOnly, "accessible-only", false, "only platforms welcoming people with disabilities")
			fs.BoolVar(&req.IncludeCancelled, "include-cancelled", false, "list cancelled sessions too")
			addPage(fs, &req.PageSize, &req.PageToken, "sessions")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			var err error
			if req.FromDate, err = optionalDate("from", from); err != nil {
				return err
			}
			if req.ToDate, err = optionalDate("to", to); err != nil {
				return err
			}
			return eachTerritory(ctx, cmd.OutOrStdout(), f, codes, req.PageToken,
				func(ctx context.Context, code string) (*immersionv1.SearchSessionsResponse, error) {
					r := proto.CloneOf(&req)
					r.TerritoryCode = code
					return c.SearchSessions(ctx, r)
				},
				func(w io.Writer, answers []territoryAnswer[*immersionv1.SearchSessionsResponse]) error {
					return listAnswers(w, answers, sessionListHeader, sessionListRows, (*immersionv1.SearchSessionsResponse).GetNextPageToken)
				})
		})
	cmd.Long = "Find sessions by first day, then id. With several territories, each is searched in turn and the\n" +
		"sessions listed together."
	return cmd
}

func newImmersionsBookCmd() *cobra.Command {
	var rid string
	return immersionCommand("book SESSION_ID LEARNER_ID", "Book a place for a learner, or join the waitlist when the session is full (the learner's referent)",
		"  avenir immersions book $session $id",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) { addRequestID(fs, &rid) },
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			resp, err := c.BookPlace(ctx, &immersionv1.BookPlaceRequest{RequestId: requestID(rid), SessionId: args[0], LearnerId: args[1]})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetBooking(), bookingRows(resp.GetBooking()))
		})
}

func newImmersionsCancelCmd() *cobra.Command {
	var rid, reason string
	cmd := immersionCommand("cancel SESSION_ID LEARNER_ID --reason TEXT",
		"Cancel a place or a waitlist entry; a freed place goes to the first waitlisted learner still eligible (the learner's referent, the session's operator)",
		"  avenir immersions cancel $session $id --reason \"found a job\"",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (at most 500 characters)")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			resp, err := c.CancelBooking(ctx, &immersionv1.CancelBookingRequest{RequestId: requestID(rid), SessionId: args[0], LearnerId: args[1], Reason: reason})
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetBooking(), bookingRows(resp.GetBooking()))
		})
	return required(cmd, "reason")
}

func newImmersionsOutcomeCmd() *cobra.Command {
	var req immersionv1.RecordOutcomeRequest
	var status, lastDay, fit string
	cmd := immersionCommand("outcome SESSION_ID LEARNER_ID --status STATUS",
		"Record what became of a booked learner, from the session's last day (the session's operator, the learner's referent)",
		"  avenir immersions outcome $session $id --status completed --trade-fit confirmed\n"+
			"  avenir immersions outcome $session $id --status partially-completed --last-day-present 2026-12-09 --minutes-done 840 --trade-fit not-for-me\n"+
			"  avenir immersions outcome $session $id --status did-not-show",
		cobra.ExactArgs(2), func(fs *pflag.FlagSet) {
			fs.StringVar(&status, "status", "", "outcome: "+immersionOutcomes.names())
			fs.StringVar(&lastDay, "last-day-present", "", "partially-completed only: last day present, "+dateHelp)
			fs.Int32Var(&req.MinutesDone, "minutes-done", 0, "partially-completed only: minutes actually done")
			fs.StringVar(&fit, "trade-fit", "", "the trade fit, not for a no-show: "+immersionFits.names())
			fs.StringVar(&req.Comment, "comment", "", "optional, at most 1,000 characters")
			addRequestID(fs, &req.RequestId)
		},
		func(ctx context.Context, cmd *cobra.Command, args []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			s, err := immersionOutcomes.parse("status", status)
			if err != nil {
				return err
			}
			req.Status = immersionv1.OutcomeStatus(s)
			if fit != "" {
				n, err := immersionFits.parse("trade-fit", fit)
				if err != nil {
					return err
				}
				req.TradeFit = immersionv1.TradeFit(n)
			}
			if req.LastDayPresent, err = optionalDate("last-day-present", lastDay); err != nil {
				return err
			}
			req.SessionId, req.LearnerId, req.RequestId = args[0], args[1], requestID(req.RequestId)
			resp, err := c.RecordOutcome(ctx, &req)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), resp.GetBooking(), bookingRows(resp.GetBooking()))
		})
	return required(cmd, "status")
}

func newImmersionsBookingsCmd() *cobra.Command {
	var req immersionv1.ListBookingsRequest
	return immersionCommand("bookings --learner ID | --operator ID | --session ID", "List the bookings of a learner, an operator or a session, by first day",
		"  avenir immersions bookings --learner $id\n  avenir immersions bookings --session $session -o json\n  avenir immersions bookings --operator op-evreux",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&req.LearnerId, "learner", "", "a learner's bookings")
			fs.StringVar(&req.OperatorId, "operator", "", "the bookings of an operator's sessions")
			fs.StringVar(&req.SessionId, "session", "", "a session's bookings")
			fs.Int32Var(&req.PageSize, "page-size", 0, "bookings per page (default 50, at most 200)")
			fs.StringVar(&req.PageToken, "page-token", "", "next page token printed by the previous page")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			set := 0
			for _, v := range []string{req.LearnerId, req.OperatorId, req.SessionId} {
				if v != "" {
					set++
				}
			}
			if set != 1 {
				return usageError{errors.New("give exactly one of --learner, --operator and --session")}
			}
			resp, err := c.ListBookings(ctx, &req)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			var ids []string
			for _, b := range resp.GetBookings() {
				ids = append(ids, b.GetLearnerId())
			}
			return listTable(cmd.OutOrStdout(), bookingListRows(resp.GetBookings(), f.learnerNames(ctx, ids...)), resp.GetNextPageToken())
		})
}

func newImmersionsStatsCmd() *cobra.Command {
	var req immersionv1.GetImmersionStatisticsRequest
	var from, to string
	cmd := immersionCommand("stats --from DATE --to DATE",
		"Places, bookings and outcomes of the sessions starting in a period, per territory and trade, then in total (admins, funders)",
		"  avenir immersions stats --from 2026-01-01 --to 2026-12-31\n"+
			"  avenir immersions stats --from 2026-09-01 --to 2026-12-31 --territory T05 --territory T06 --rome-code F1703",
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.StringVar(&from, "from", "", "sessions starting on or after that day, "+dateHelp)
			fs.StringVar(&to, "to", "", "sessions starting on or before that day (at most 366 days in all), "+dateHelp)
			addTerritories(fs, &req.TerritoryCodes, "only these territories (default: all)")
			fs.StringVar(&req.RomeCode, "rome-code", "", "one trade, ROME code")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c immersionv1.ImmersionServiceClient, f *clientFlags) error {
			var err error
			if req.FromDate, err = parseDate("from", from); err != nil {
				return err
			}
			if req.ToDate, err = parseDate("to", to); err != nil {
				return err
			}
			req.TerritoryCodes = territories(req.TerritoryCodes)
			resp, err := c.GetImmersionStatistics(ctx, &req)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			if len(resp.GetRows()) == 0 {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "no session starts in the period")
				return err
			}
			return listTable(cmd.OutOrStdout(), statsRows(resp), "")
		})
	return required(cmd, "from", "to")
}
