package natsx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// The NATS identities of avenir and what each may do: the one permission
// table of every deployment (docs/adr/0066-nats-identities-in-every-mode.md).
// The embedded server of `avenir server --dev` is configured from it,
// deploy/nats/avenir.conf is generated from it (RenderAccounts; a test of
// the avenir binary fails when the file and the table disagree), and the
// Helm chart and compose give each identity its own secret.

// Identities that are not services.
const (
	// IdentityAdmin administers avenir's streams: it creates and updates
	// them (`avenir streams ensure`, the dev server before its services
	// start). It publishes no event.
	IdentityAdmin = "admin"
	// IdentityOps is for people: the nats CLI, backups and restores. It may
	// do anything in the account.
	IdentityOps = "ops"
)

// The key store of personal data (services/platform/privacy declares the
// stream; a test of the avenir binary checks that the names agree).
const (
	// KeysStream is the key store's stream.
	KeysStream = "AVENIR_KEYS"
	// KeysEraser is the service that erases learners: the only one that
	// writes erasure tombstones and uniqueness claims, and deletes keys.
	KeysEraser = "intake"
	keysPrefix = "avenir.keys."
)

// DLQSubjects are the dead-letter subjects every consumer may write
// (consumer.DLQSubjectPrefix; a test checks they agree).
const DLQSubjects = "avenir.dlq.>"

// ConsumerRef names a durable consumer a service runs (a read model's or a
// reaction's), on a stream.
type ConsumerRef struct {
	Stream, Name string
}

// ServiceWiring is what the permission table needs to know of a service.
type ServiceWiring struct {
	// Name is the service's name, which is also its context: it publishes
	// its events on avenir.<Name>.>.
	Name string
	// Consumers are the durable consumers it runs.
	Consumers []ConsumerRef
}

// Grant is a set of subjects an identity may publish to, with the reason.
type Grant struct {
	Why      string
	Subjects []string
}

// Identity is a NATS user of the avenir account.
type Identity struct {
	Name string
	// Role says what the identity is for, in one line.
	Role string
	// Unrestricted identities may do anything in the account (ops).
	Unrestricted bool
	// Publish lists what a restricted identity may publish to; nothing
	// else is allowed.
	Publish []Grant
	// PublishDeny is never allowed, whatever Publish says (deny wins in
	// NATS): the stream operations the identity must never make.
	PublishDeny []string
}

// Identities is the permission table: one identity per service, in the
// order given, then admin and ops. Every identity may subscribe to
// anything in the account (a service follows other contexts' events
// through its own durable consumers, which is the design).
func Identities(services []ServiceWiring) []Identity {
	ids := make([]Identity, 0, len(services)+2)
	for _, s := range services {
		ids = append(ids, ServiceIdentity(s))
	}
	return append(ids, AdminIdentity(), OpsIdentity())
}

// IdentityNames lists the names of ids.
func IdentityNames(ids []Identity) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id.Name
	}
	return names
}

// streamAdministration are the JetStream API calls that change a stream.
var streamAdministration = []string{
	"$JS.API.STREAM.CREATE.>",
	"$JS.API.STREAM.UPDATE.>",
}

// streamDestruction are the JetStream API calls that destroy history.
var streamDestruction = []string{
	"$JS.API.STREAM.DELETE.>",
	"$JS.API.STREAM.PURGE.>",
}

// jsClient are the JetStream subjects every client publishes to besides
// API requests.
var jsClient = Grant{
	Why: "acknowledgements (ack, nak with delay, term), flow control, replies",
	Subjects: []string{
		"$JS.ACK.>",
		"$JS.FC.>",
		"_INBOX.>",
	},
}

// ServiceIdentity is what the NATS user of one service may do: publish its
// own events and dead letters, create learners' data keys, read any stream,
// and run its own durable consumers. It never creates, updates, deletes or
// purges a stream, and deletes no message, except that the key eraser
// (intake) deletes keys and claims from the key store.
func ServiceIdentity(s ServiceWiring) Identity {
	id := Identity{Name: s.Name, Role: "the " + s.Name + " service"}
	id.Publish = append(id.Publish,
		Grant{"its own events (atomic batches included)", []string{"avenir." + s.Name + ".>"}},
		Grant{"dead letters (stream AVENIR_DLQ)", []string{DLQSubjects}},
		Grant{"the data keys of the learners whose data it seals (stream " + KeysStream + ")", []string{keysPrefix + "data.>"}},
	)
	if s.Name == KeysEraser {
		id.Publish = append(id.Publish, Grant{
			"erasure: tombstones, uniqueness claims, deleting keys and claims (" + KeysStream + " only)",
			[]string{keysPrefix + "erased.>", keysPrefix + "claim.>", "$JS.API.STREAM.MSG.DELETE." + KeysStream},
		})
	}
	id.Publish = append(id.Publish, Grant{
		"reading streams: account and stream info, message get, direct get",
		[]string{"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.>"},
	})
	consumers := slices.Clone(s.Consumers)
	slices.SortFunc(consumers, func(a, b ConsumerRef) int {
		return strings.Compare(a.Stream+" "+a.Name, b.Stream+" "+b.Name)
	})
	consumers = slices.Compact(consumers)
	for _, c := range consumers {
		id.Publish = append(id.Publish, Grant{
			"its durable consumer " + c.Name + " on " + c.Stream + ": create or update, info, delete, fetch, unpin",
			ConsumerSubjects(c),
		})
	}
	id.Publish = append(id.Publish, Grant{
		"the erasure watch: ordered consumers on " + KeysStream,
		[]string{
			"$JS.API.CONSUMER.CREATE." + KeysStream + ".>",
			"$JS.API.CONSUMER.INFO." + KeysStream + ".*",
			"$JS.API.CONSUMER.DELETE." + KeysStream + ".*",
			"$JS.API.CONSUMER.MSG.NEXT." + KeysStream + ".*",
		},
	}, jsClient)
	id.PublishDeny = append(slices.Clone(streamAdministration), streamDestruction...)
	if s.Name != KeysEraser {
		id.PublishDeny = append(id.PublishDeny, "$JS.API.STREAM.MSG.DELETE.>")
	}
	return id
}

// ConsumerSubjects are the JetStream API subjects of one durable consumer.
func ConsumerSubjects(c ConsumerRef) []string {
	sn := c.Stream + "." + c.Name
	return []string{
		"$JS.API.CONSUMER.CREATE." + sn,
		"$JS.API.CONSUMER.CREATE." + sn + ".>",
		"$JS.API.CONSUMER.INFO." + sn,
		"$JS.API.CONSUMER.DELETE." + sn,
		"$JS.API.CONSUMER.MSG.NEXT." + sn,
		"$JS.API.CONSUMER.UNPIN." + sn,
	}
}

// AdminIdentity administers the streams: creates them and updates their
// configuration. It publishes no event, and never deletes a stream or a
// message, nor purges.
func AdminIdentity() Identity {
	return Identity{
		Name: IdentityAdmin,
		Role: "stream administration (avenir streams ensure; the dev server before its services start)",
		Publish: []Grant{
			{"create and update streams, read their configuration", []string{
				"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
				"$JS.API.STREAM.CREATE.*", "$JS.API.STREAM.UPDATE.*",
			}},
			{"replies", []string{"_INBOX.>"}},
		},
		PublishDeny: append(slices.Clone(streamDestruction), "$JS.API.STREAM.MSG.DELETE.>"),
	}
}

// OpsIdentity is for people (the nats CLI, backups, restores, repairs):
// everything in the account.
func OpsIdentity() Identity {
	return Identity{Name: IdentityOps, Role: "people: the nats CLI, stream backups and restores (everything in the account)", Unrestricted: true}
}

// AllowedPublish flattens the identity's publish grants.
func (id Identity) AllowedPublish() []string {
	var subjects []string
	for _, g := range id.Publish {
		subjects = append(subjects, g.Subjects...)
	}
	return subjects
}

// ServerPermissions are the identity's permissions as nats-server takes
// them; nil for an unrestricted identity.
func (id Identity) ServerPermissions() *server.Permissions {
	if id.Unrestricted {
		return nil
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: id.AllowedPublish(), Deny: slices.Clone(id.PublishDeny)},
		Subscribe: &server.SubjectPermission{Allow: []string{">"}},
	}
}

// FindIdentity returns the identity named name.
func FindIdentity(ids []Identity, name string) (Identity, error) {
	for _, id := range ids {
		if id.Name == name {
			return id, nil
		}
	}
	return Identity{}, fmt.Errorf("natsx: no NATS identity %q (known: %s)", name, strings.Join(IdentityNames(ids), ", "))
}
