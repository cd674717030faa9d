package console

import (
	"errors"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// problems are what a form shows after a refusal: a message per field
// (next to it) and one for the whole form.
type problems struct {
	Fields  map[string]string
	General string
	// Existing is the learner a registration found already registered.
	Existing string
}

func (p *problems) add(field, msg string) {
	if p.Fields == nil {
		p.Fields = map[string]string{}
	}
	if _, ok := p.Fields[field]; !ok {
		p.Fields[field] = msg
	}
}

// any reports whether there is a problem.
func (p *problems) any() bool { return p != nil && (len(p.Fields) > 0 || p.General != "") }

// fromAPI turns a refusal of the API into problems: field violations go to
// their form field (fields maps API field paths to form field names; the
// others are listed in the general message), the code chooses the general
// message.
func fromAPI(err error, fields map[string]string) problems {
	var p problems
	st, _ := status.FromError(err)
	if errorMeta(err, "reason") == "LEARNER_ERASED" {
		// Every service refuses so a command for an erased learner.
		p.General = "Les données personnelles de cette personne ont été effacées : son dossier ne change plus."
		return p
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if f, ok := fields[v.GetField()]; ok {
					p.add(f, "Valeur refusée : "+v.GetDescription())
					continue
				}
				p.General += " " + v.GetField() + " : " + v.GetDescription() + "."
			}
		}
	}
	p.Existing = errorMeta(err, "learner_id")
	lead := refusal(st.Code())
	if p.General != "" {
		p.General = lead + p.General
	} else if len(p.Fields) == 0 {
		p.General = lead + " " + st.Message()
	} else {
		p.General = "Corrigez les champs signalés."
	}
	return p
}

// refusal is the French sentence leading a refusal of a code.
func refusal(code codes.Code) string {
	switch code {
	case codes.InvalidArgument:
		return "Certaines valeurs sont refusées."
	case codes.AlreadyExists:
		return "Cette personne est déjà inscrite."
	case codes.FailedPrecondition:
		return "Action impossible dans l'état actuel du dossier :"
	case codes.NotFound, codes.PermissionDenied:
		return "Introuvable, ou hors de votre périmètre."
	case codes.Aborted:
		return "Le dossier a changé pendant votre saisie : rechargez la page puis recommencez."
	case codes.ResourceExhausted:
		return "Le système est saturé : réessayez plus tard, ou prévenez l'administrateur."
	case codes.Unavailable, codes.DeadlineExceeded:
		return "Service momentanément indisponible : réessayez dans un instant."
	case codes.Unauthenticated:
		return "Votre session a expiré : reconnectez-vous."
	}
	return "Erreur inattendue."
}

// failed renders the error page of an API failure on a read; an expired
// token ends the session.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Unauthenticated:
		c.sessions.end(s.id)
		c.cookies.clear(w, sessionCookie)
		http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
	case codes.NotFound, codes.PermissionDenied:
		c.pages.error(w, r, s, http.StatusNotFound, "Introuvable", "Cette page n'existe pas, ou elle est hors de votre périmètre.")
	case codes.InvalidArgument:
		c.pages.error(w, r, s, http.StatusBadRequest, "Demande invalide", "La demande est invalide : "+st.Message())
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		c.pages.error(w, r, s, http.StatusServiceUnavailable, "Service indisponible", refusal(st.Code()))
	default:
		c.log.Error("console: API call failed", "path", r.URL.Path, "error", err)
		c.pages.error(w, r, s, http.StatusBadGateway, "Erreur", "Une erreur inattendue est survenue. Réessayez ; si elle persiste, prévenez l'administrateur.")
	}
}

// isCode reports whether err is a gRPC status of code.
func isCode(err error, code codes.Code) bool {
	var se interface{ GRPCStatus() *status.Status }
	return errors.As(err, &se) && se.GRPCStatus().Code() == code
}

func isNotFound(err error) bool        { return isCode(err, codes.NotFound) }
func isUnauthenticated(err error) bool { return isCode(err, codes.Unauthenticated) }

// errorMeta is a metadata entry of a refusal's ErrorInfo ("reason",
// "learner_id", ...), "" when it has none.
func errorMeta(err error, key string) string {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if v := info.GetMetadata()[key]; v != "" {
				return v
			}
		}
	}
	return ""
}
