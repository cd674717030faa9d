package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"

	notifyv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/notify/v1"
)

func newNotificationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "notifications", Short: "Your notifications (bookings, cancellations, assignments, handovers) and your preferences"}
	cmd.AddCommand(newNotificationsListCmd(), newNotificationsReadCmd(), newNotificationsPreferencesCmd())
	return cmd
}

func notifyCommand(use, short, example string, args cobra.PositionalArgs, setup func(fs *pflag.FlagSet),
	run func(ctx context.Context, cmd *cobra.Command, args []string, c notifyv1.NotificationServiceClient, f *clientFlags) error) *cobra.Command {
	return rpcCommand(notifyv1.NewNotificationServiceClient, use, short, example, args, setup, run)
}

func newNotificationsListCmd() *cobra.Command {
	var (
		unread    bool
		recipient string
		size      int32
		token     string
	)
	return notifyCommand("list", "List your notifications, newest first, with the number unread",
		`  avenir notifications list
  avenir notifications list --unread
  avenir notifications list --recipient learner:<id>   # admins: the notifications kept for a learner`,
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.BoolVar(&unread, "unread", false, "only the unread ones")
			fs.StringVar(&recipient, "recipient", "", "admins: another recipient (learner:<id>, referent:<id>, operator:<id>)")
			fs.Int32Var(&size, "page-size", 0, "notifications per page (default 20, at most 100)")
			fs.StringVar(&token, "page-token", "", "next page token of an earlier list")
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c notifyv1.NotificationServiceClient, f *clientFlags) error {
			resp, err := c.ListNotifications(ctx, &notifyv1.ListNotificationsRequest{
				UnreadOnly: unread, Recipient: recipient, PageSize: size, PageToken: token,
			})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if f.output == "json" {
				return printJSON(w, resp)
			}
			if _, err := fmt.Fprintf(w, "%d unread\n", resp.GetUnreadCount()); err != nil {
				return err
			}
			rows := [][]string{{"ID", "CREATED", "READ", "E-MAIL", "TITLE", "LINK"}}
			for _, n := range resp.GetNotifications() {
				rows = append(rows, []string{n.GetNotificationId(), parisTime(n.GetCreatedAt()), yesNo(n.GetRead()),
					emailStatus(n.GetEmailStatus()), n.GetTitle(), n.GetLink()})
			}
			return listTable(w, rows, resp.GetNextPageToken())
		})
}

func emailStatus(s notifyv1.EmailStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "EMAIL_STATUS_"))
}

func newNotificationsReadCmd() *cobra.Command {
	var rid string
	return notifyCommand("read <notification id>", "Mark one of your notifications read (again: nothing changes)",
		`  avenir notifications read 0dbb95fd-c98f-5ebd-8b25-5ae0da3708af`,
		cobra.ExactArgs(1), func(fs *pflag.FlagSet) { addRequestID(fs, &rid) },
		func(ctx context.Context, cmd *cobra.Command, args []string, c notifyv1.NotificationServiceClient, f *clientFlags) error {
			resp, err := c.MarkRead(ctx, &notifyv1.MarkReadRequest{RequestId: requestID(rid), NotificationId: args[0]})
			if err != nil {
				return err
			}
			n := resp.GetNotification()
			return f.print(cmd.OutOrStdout(), resp, []field{
				{"id", n.GetNotificationId()}, {"title", n.GetTitle()}, {"body", n.GetBody()}, {"read", yesNo(n.GetRead())},
			})
		})
}

func newNotificationsPreferencesCmd() *cobra.Command {
	var (
		email string
		kinds []string
		set   bool
		rid   string
	)
	return notifyCommand("preferences [--set --email ADDRESS --kinds k1,k2]", "Show, or replace, your e-mail address and the kinds also sent by e-mail",
		`  avenir notifications preferences
  avenir notifications preferences --set --email referente@example.fr --kinds place_booked,booking_cancelled,referent_assigned
  avenir notifications preferences --set --email ""   # no e-mail at all`,
		cobra.NoArgs, func(fs *pflag.FlagSet) {
			fs.BoolVar(&set, "set", false, "replace the preferences by --email and --kinds")
			fs.StringVar(&email, "email", "", "where e-mails go; empty: none")
			fs.StringSliceVar(&kinds, "kinds", nil, "kinds sent by e-mail: place_booked, waitlist_promoted, booking_cancelled, referent_assigned, referent_handover, session_reminder")
			addRequestID(fs, &rid)
		},
		func(ctx context.Context, cmd *cobra.Command, _ []string, c notifyv1.NotificationServiceClient, f *clientFlags) error {
			var resp interface {
				proto.Message
				GetPreferences() *notifyv1.Preferences
			}
			if set {
				req := &notifyv1.SetPreferencesRequest{RequestId: requestID(rid), Email: email}
				for _, k := range kinds {
					v, ok := notifyv1.NotificationKind_value["NOTIFICATION_KIND_"+strings.ToUpper(strings.TrimSpace(k))]
					if !ok || v == 0 {
						return usageError{fmt.Errorf("--kinds: unknown kind %q", k)}
					}
					req.EmailKinds = append(req.EmailKinds, notifyv1.NotificationKind(v))
				}
				r, err := c.SetPreferences(ctx, req)
				if err != nil {
					return err
				}
				resp = r
			} else {
				r, err := c.GetPreferences(ctx, &notifyv1.GetPreferencesRequest{})
				if err != nil {
					return err
				}
				resp = r
			}
			p := resp.GetPreferences()
			var names []string
			for _, k := range p.GetEmailKinds() {
				names = append(names, strings.ToLower(strings.TrimPrefix(k.String(), "NOTIFICATION_KIND_")))
			}
			return f.print(cmd.OutOrStdout(), resp, []field{
				{"recipient", p.GetRecipient()}, {"email", p.GetEmail()}, {"by e-mail", strings.Join(names, ", ")}, {"set", yesNo(p.GetSet())},
			})
		})
}
