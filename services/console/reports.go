package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/console/sheet"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

// Hour imports: an operator uploads a spreadsheet, the console reads it,
// sends its lines to funding in chunks in the background and shows each
// line's fate.
const (
	// reportChunk is the lines of one ReportTraineeHours call: small enough
	// for the progress bar to move, big enough for a 20,000-line file to
	// take 40 calls.
	reportChunk = 500
	// importTimeout bounds the background reporting of one file.
	importTimeout = 10 * time.Minute
	// importLifetime is how long an import's report stays readable.
	importLifetime = 2 * time.Hour
	// maxImports bounds the imports kept in memory (they hold their file).
	maxImports = 50
	// maxAcceptedShown bounds the accepted lines a report lists (the
	// statements list them all); rejected lines are all listed.
	maxAcceptedShown = 2000
	// chunkAttempts is how many times a chunk is sent when the service is
	// unavailable (the request id makes a retry idempotent).
	chunkAttempts = 3
)

// lineState is the fate of one line of an import.
type lineState int

const (
	linePending  lineState = iota // not answered yet
	lineAccepted                  // accepted by this import
	lineAlready                   // accepted by an earlier report (same line again)
	lineRejected                  // unreadable, or rejected by funding
	lineUnsent                    // not reported: the import stopped
)

// importLine is one row of an uploaded file and its fate.
type importLine struct {
	Line      int // in the file
	Readable  bool
	LearnerID string
	Date      civil.Date
	Minutes   int32
	Activity  fundingv1.ActivityType
	LineID    string   // the operator line id sent (the file's or derived)
	Cells     []string // an unreadable row's cells
	State     lineState
	Reason    string // French
	Amount    int64
	Period    civil.Month
	Late      bool
}

// hourImport is one uploaded file being reported, or reported.
type hourImport struct {
	ID, OperatorID       string
	ContractID, Contract string // the contract's id and reference
	Terms                *fundingv1.ContractTerms
	FileName             string
	Created              time.Time
	table                *sheet.Table

	mu       sync.Mutex
	lines    []importLine // in file order
	toSend   []int        // indexes in lines of the readable lines
	done     int          // readable lines answered (or given up)
	finished bool
	failure  string // why the import stopped early, French
	warning  bool   // funding's budget warning
	names    map[string]string
}

// importStore keeps the imports of this console process in memory, like
// sessions: a restart forgets them (funding keeps what was reported).
type importStore struct {
	mu   sync.Mutex
	byID map[string]*hourImport
}

func newImportStore() *importStore { return &importStore{byID: map[string]*hourImport{}} }

// add keeps imp, forgetting expired imports and, past maxImports, the
// oldest finished one; false when every kept import is still running.
func (st *importStore) add(imp *hourImport, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	var oldest *hourImport
	for id, o := range st.byID {
		if now.Sub(o.Created) >= importLifetime {
			delete(st.byID, id)
			continue
		}
		if o.isFinished() && (oldest == nil || o.Created.Before(oldest.Created)) {
			oldest = o
		}
	}
	if len(st.byID) >= maxImports {
		if oldest == nil {
			return false
		}
		delete(st.byID, oldest.ID)
	}
	st.byID[imp.ID] = imp
	return true
}

// get returns the live import id of the operator, nil otherwise (another
// operator's import is as unknown as one that never was).
func (st *importStore) get(id, operatorID string, now time.Time) *hourImport {
	st.mu.Lock()
	defer st.mu.Unlock()
	imp := st.byID[id]
	if imp == nil || imp.OperatorID != operatorID || now.Sub(imp.Created) >= importLifetime {
		return nil
	}
	return imp
}

// recent lists the operator's live imports, newest first.
func (st *importStore) recent(operatorID string, now time.Time) []*hourImport {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*hourImport
	for _, imp := range st.byID {
		if imp.OperatorID == operatorID && now.Sub(imp.Created) < importLifetime {
			out = append(out, imp)
		}
	}
	slices.SortFunc(out, func(a, b *hourImport) int { return b.Created.Compare(a.Created) })
	return out
}

func (imp *hourImport) isFinished() bool {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	return imp.finished
}

// reportRoutes are a training operator's reports: hour spreadsheets, group
// hours, flat-fee claims and corrections.
func (c *Console) reportRoutes() {
	c.imports = newImportStore()
	c.mux.HandleFunc("GET /declarations", c.operatorPage(c.reportHub))
	c.mux.HandleFunc("GET /declarations/modele.csv", c.operatorPage(c.hoursTemplate))
	c.mux.HandleFunc("POST /declarations/heures", c.operatorPage(c.uploadHours))
	c.mux.HandleFunc("GET /declarations/import/{id}", c.operatorPage(c.importPage))
	c.mux.HandleFunc("GET /declarations/import/{id}/etat", c.operatorPage(c.importState))
	c.mux.HandleFunc("GET /declarations/import/{id}/rejets", c.operatorPage(c.importRejects))
	c.mux.HandleFunc("GET /declarations/correction", c.operatorPage(c.correctionForm))
	c.mux.HandleFunc("POST /declarations/correction", c.operatorPage(c.correctLine))
}

// hubView is what the reporting hub shows.
type hubView struct {
	Title     string
	Contracts []*fundingv1.Contract
	Contract  string // the contract chosen
	Problems  []sheet.Problem
	Error     string
	Recent    []importSummary
}

// importSummary is a recent import as the hub lists it.
type importSummary struct {
	ID, FileName, Contract string
	Created                time.Time
	Finished               bool
	Total                  int
}

// reportHub is the operator's reporting page: upload an hour spreadsheet,
// download a model, and the other kinds of reports.
func (c *Console) reportHub(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderHub(w, r, s, http.StatusOK, r.URL.Query().Get("contrat"), "", nil)
}

func (c *Console) renderHub(w http.ResponseWriter, r *http.Request, s *session, status int, contract, msg string, problems []sheet.Problem) {
	contracts, err := c.contracts(c.call(r, s), s.principal.OperatorID)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if contract == "" && len(contracts) == 1 {
		contract = contracts[0].GetContractId()
	}
	var recent []importSummary
	for _, imp := range c.imports.recent(s.principal.OperatorID, time.Now()) {
		imp.mu.Lock()
		recent = append(recent, importSummary{ID: imp.ID, FileName: imp.FileName, Contract: imp.Contract, Created: imp.Created, Finished: imp.finished, Total: len(imp.lines)})
		imp.mu.Unlock()
	}
	c.pages.render(w, r, s, status, "reports", map[string]any{
		"Title": "Déclarer des heures", "Contracts": contracts, "Contract": contract,
		"Error": msg, "Problems": problems, "Recent": recent,
		"Activities": fr.Options(fundingv1.ActivityType(0).Descriptor()),
	})
}

// modelHeader is the header of the model spreadsheet: the columns
// sheet.HourLines recognises, and « Nom » (ignored) to help people fill it.
var modelHeader = []string{"Identifiant", "Nom", "Date", "Heures", "Activité", "Référence"}

// hoursTemplate is a CSV model (« ; », UTF-8 with BOM) with a row per
// learner enrolled with the operator today, on the contract asked for
// (every contract when none is).
func (c *Console) hoursTemplate(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	contract := r.URL.Query().Get("contrat")
	listings, err := paging.All(func(token string) ([]*pathwayv1.EnrolmentListing, string, error) {
		res, err := c.api.Pathway.ListEnrolments(ctx, &pathwayv1.ListEnrolmentsRequest{
			OperatorId: s.principal.OperatorID, ContractId: contract, ActiveOn: civilpb.FromDate(c.today()), PageSize: 200, PageToken: token,
		})
		return res.GetEnrolments(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	var ids []string
	for _, l := range listings {
		ids = append(ids, l.GetLearnerId())
	}
	ids = uniq(ids)
	names, err := c.learnerNames(ctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(nameOr(names, a), nameOr(names, b)) })
	rows := make([][]sheet.Cell, len(ids))
	for i, id := range ids {
		rows[i] = []sheet.Cell{sheet.Text(id), sheet.Text(nameOr(names, id)), sheet.Text(""), sheet.Text(""), sheet.Text(""), sheet.Text("")}
	}
	var buf bytes.Buffer
	if err := sheet.WriteCSV(&buf, modelHeader, rows); err != nil {
		c.failed(w, r, s, err)
		return
	}
	attachment(w, "text/csv; charset=utf-8", "modele-heures.csv")
	_, _ = w.Write(buf.Bytes())
}

// attachment sets the headers of a file to download.
func attachment(w http.ResponseWriter, contentType, name string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "no-store")
}

// uploadHours reads an hour spreadsheet and starts reporting its lines in
// the background; the answer leads to the import's page.
func (c *Console) uploadHours(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := c.call(r, s)
	contractID := r.PostFormValue("contrat")
	if contractID == "" {
		c.renderHub(w, r, s, http.StatusUnprocessableEntity, "", "Choisissez le marché des heures déclarées.", nil)
		return
	}
	cres, err := c.api.Funding.GetContract(ctx, &fundingv1.GetContractRequest{ContractId: contractID})
	if err != nil || cres.GetContract().GetTerms().GetOperatorId() != s.principal.OperatorID {
		if err != nil && !isNotFound(err) && !isCode(err, codes.PermissionDenied) && !isCode(err, codes.InvalidArgument) {
			c.failed(w, r, s, err)
			return
		}
		c.renderHub(w, r, s, http.StatusUnprocessableEntity, "", "Ce marché est introuvable parmi les vôtres.", nil)
		return
	}
	file, header, err := r.FormFile("fichier")
	if err != nil {
		c.renderHub(w, r, s, http.StatusUnprocessableEntity, contractID, "Choisissez le fichier à envoyer.", nil)
		return
	}
	defer file.Close()
	table, err := sheet.Read(file, header.Filename, sheet.DefaultMaxBytes)
	if err != nil {
		c.renderHub(w, r, s, http.StatusUnprocessableEntity, contractID, "Fichier illisible : "+err.Error()+".", nil)
		return
	}
	hourLines, problems := sheet.HourLines(table)
	if len(hourLines) == 0 && headerProblem(table, problems) {
		c.renderHub(w, r, s, http.StatusUnprocessableEntity, contractID, "L'en-tête du fichier ne convient pas ; rien n'a été déclaré.", problems)
		return
	}

	imp := &hourImport{
		ID: randomToken(), OperatorID: s.principal.OperatorID, ContractID: contractID,
		Contract: cres.GetContract().GetTerms().GetReference(), Terms: cres.GetContract().GetTerms(),
		FileName: header.Filename, Created: time.Now(), table: table,
	}
	imp.lines, imp.toSend = importLines(table, hourLines, problems)
	if !c.imports.add(imp, imp.Created) {
		c.renderHub(w, r, s, http.StatusServiceUnavailable, contractID, "Trop de fichiers sont en cours de déclaration : réessayez dans quelques minutes.", nil)
		return
	}
	job := metadata.AppendToOutgoingContext(context.WithoutCancel(r.Context()), "authorization", "Bearer "+s.token)
	go c.runImport(job, imp)
	http.Redirect(w, r, "/declarations/import/"+imp.ID, http.StatusSeeOther)
}

// headerProblem reports whether problems are the header's (the file as a
// whole cannot be read as hour lines).
func headerProblem(t *sheet.Table, problems []sheet.Problem) bool {
	for _, p := range problems {
		if p.Line == t.HeaderLine && p.Column == "" {
			return true
		}
	}
	return false
}

// importLines makes the lines of an import from the file's rows: the
// readable ones to send, with an operator line id (derived when the file
// gives none), the others rejected with their problems.
func importLines(t *sheet.Table, read []sheet.HourLine, problems []sheet.Problem) ([]importLine, []int) {
	reasons := sheet.RejectReasons(problems)
	byLine := make(map[int]sheet.HourLine, len(read))
	for _, l := range read {
		byLine[l.Line] = l
	}
	occurrences := map[string]int{}
	lines := make([]importLine, 0, len(t.Rows))
	var toSend []int
	for _, row := range t.Rows {
		l, ok := byLine[row.Line]
		if !ok {
			lines = append(lines, importLine{Line: row.Line, Cells: row.Cells, State: lineRejected, Reason: reasons[row.Line]})
			continue
		}
		id := l.OperatorLineID
		if id == "" {
			id = derivedLineID(l, occurrences)
		}
		toSend = append(toSend, len(lines))
		lines = append(lines, importLine{
			Line: l.Line, Readable: true, LearnerID: l.LearnerID, Date: l.Date, Minutes: l.Minutes, Activity: l.Activity, LineID: id,
		})
	}
	return lines, toSend
}

// derivedLineID is the operator line id of a line the file gives none: a
// hash of what the line says, and of how many lines saying the same came
// before it in the file (two mornings of 3 h are two lines). The same file
// sent again gives the same ids, so funding answers « already reported »
// rather than billing twice; a line fixed after a rejection is a new line.
func derivedLineID(l sheet.HourLine, occurrences map[string]int) string {
	key := fmt.Sprintf("%s|%s|%d|%d", l.LearnerID, l.Date, l.Minutes, l.Activity)
	occurrences[key]++
	sum := sha256.Sum256([]byte(key + "|" + strconv.Itoa(occurrences[key])))
	return "h-" + hex.EncodeToString(sum[:12])
}

// runImport reports an import's readable lines in chunks; each chunk's
// request id is the import's and the chunk's position, so a chunk sent
// again (after an unavailability) is answered as before.
func (c *Console) runImport(ctx context.Context, imp *hourImport) {
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	defer c.finishImport(ctx, imp)
	for n, start := 0, 0; start < len(imp.toSend); n, start = n+1, start+reportChunk {
		part := imp.toSend[start:min(start+reportChunk, len(imp.toSend))]
		req := &fundingv1.ReportTraineeHoursRequest{
			RequestId: imp.ID + "-" + strconv.Itoa(n), ContractId: imp.ContractID,
			Lines: make([]*fundingv1.ReportedLine, len(part)),
		}
		imp.mu.Lock()
		for i, k := range part {
			l := imp.lines[k]
			req.Lines[i] = &fundingv1.ReportedLine{
				OperatorLineId: l.LineID, LearnerId: l.LearnerID, Date: civilpb.FromDate(l.Date), Minutes: l.Minutes, Activity: l.Activity,
			}
		}
		imp.mu.Unlock()
		res, err := c.reportChunk(ctx, req)
		if err != nil {
			c.log.Warn("console: hour import stopped", "import", imp.ID, "chunk", n, "error", err)
			imp.stop(start, importFailure(err))
			return
		}
		imp.apply(part, res)
	}
}

// reportChunk sends a chunk, again when the service is unavailable.
func (c *Console) reportChunk(ctx context.Context, req *fundingv1.ReportTraineeHoursRequest) (*fundingv1.ReportTraineeHoursResponse, error) {
	var err error
	for attempt := range chunkAttempts {
		var res *fundingv1.ReportTraineeHoursResponse
		if res, err = c.api.Funding.ReportTraineeHours(ctx, req); err == nil {
			return res, nil
		}
		if !isCode(err, codes.Unavailable) && !isCode(err, codes.Aborted) && !isCode(err, codes.ResourceExhausted) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	return nil, err
}

// importFailure says in French why an import stopped.
func importFailure(err error) string {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Unauthenticated:
		return "Votre session a expiré pendant la déclaration : reconnectez-vous puis renvoyez le fichier (les lignes déjà acceptées ne seront pas comptées deux fois)."
	case codes.DeadlineExceeded, codes.Canceled:
		return "La déclaration a pris trop de temps et s'est arrêtée : renvoyez le fichier (les lignes déjà acceptées ne seront pas comptées deux fois)."
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return "Le service des financements est indisponible : renvoyez le fichier dans quelques minutes (les lignes déjà acceptées ne seront pas comptées deux fois)."
	case codes.NotFound, codes.PermissionDenied:
		return "Ce marché est introuvable parmi les vôtres : rien de plus n'a été déclaré."
	}
	return "Une erreur inattendue a arrêté la déclaration : renvoyez le fichier (les lignes déjà acceptées ne seront pas comptées deux fois) ; si elle persiste, prévenez l'administrateur."
}

// apply records funding's answer to a chunk.
func (imp *hourImport) apply(part []int, res *fundingv1.ReportTraineeHoursResponse) {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	for _, r := range res.GetResults() {
		i := int(r.GetIndex())
		if i < 0 || i >= len(part) {
			continue
		}
		l := &imp.lines[part[i]]
		switch {
		case r.GetAccepted() && r.GetAlreadyReported():
			l.State = lineAlready
			l.Reason = "Ligne déjà déclarée (même stagiaire, date, durée et activité) : elle n'est pas comptée une seconde fois."
		case r.GetAccepted():
			l.State = lineAccepted
			if r.GetLate() {
				l.Reason = "Facturée sur le relevé de " + fr.Month(r.GetBillingPeriod()) + " (le mois de la date est clos)."
			}
		default:
			l.State = lineRejected
			l.Reason = rejectionText(r, imp.Terms)
		}
		l.Amount, l.Late = r.GetAmountCents(), r.GetLate()
		if r.GetBillingPeriod() != nil {
			l.Period = civilpb.Month(r.GetBillingPeriod())
		}
	}
	for _, k := range part {
		if imp.lines[k].State == linePending {
			imp.lines[k].State, imp.lines[k].Reason = lineUnsent, "Sans réponse du service des financements : renvoyez la ligne."
		}
	}
	imp.done += len(part)
	imp.warning = imp.warning || res.GetBudgetWarning()
}

// stop marks the lines not reported, from the from-th line to send on.
func (imp *hourImport) stop(from int, why string) {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	for _, k := range imp.toSend[from:] {
		imp.lines[k].State, imp.lines[k].Reason = lineUnsent, "Non déclarée : "+why
	}
	imp.failure = why
	imp.done = len(imp.toSend)
}

// finishImport names the learners of the import and marks it finished.
func (c *Console) finishImport(ctx context.Context, imp *hourImport) {
	imp.mu.Lock()
	var ids []string
	for _, l := range imp.lines {
		if l.Readable {
			ids = append(ids, l.LearnerID)
		}
	}
	imp.mu.Unlock()
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	names, err := c.learnerNames(nctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	imp.mu.Lock()
	defer imp.mu.Unlock()
	imp.names, imp.finished = names, true
}

// rejectionText is funding's rejection of a line in a French sentence: its
// coded reason and, for an invalid line, the field refused, with the
// contract's numbers where they help. (The API's detail is English: never
// shown.)
func rejectionText(res *fundingv1.LineResult, t *fundingv1.ContractTerms) string {
	reason := res.GetReason()
	switch reason {
	case fundingv1.RejectionReason_REJECTION_REASON_INVALID_LINE:
		switch res.GetField() {
		case "operator_line_id":
			return "Référence de ligne refusée : de 1 à 64 caractères (une lettre accentuée compte double), sans espace ni caractère invisible."
		case "minutes":
			return "Durée refusée : une ligne compte au moins 1 minute et au plus une journée (24\u00a0h)."
		case "learner_id":
			return "Identifiant du stagiaire refusé."
		case "date":
			return "Date refusée."
		case "activity":
			return "Activité refusée."
		}
		return "Ligne refusée : une valeur est invalide."
	case fundingv1.RejectionReason_REJECTION_REASON_LEARNER_NOT_ENROLLED:
		return "Le stagiaire n'était pas inscrit sur ce marché à cette date : demandez son inscription à son référent."
	case fundingv1.RejectionReason_REJECTION_REASON_OUTSIDE_CONTRACT_PERIOD:
		return "Date hors de la période du marché (du " + fr.Date(t.GetPeriodFrom()) + " au " + fr.Date(t.GetPeriodTo()) + ")."
	case fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED:
		return "Plafond journalier dépassé : avec les heures déjà acceptées ce jour-là, le stagiaire dépasserait " +
			fr.Minutes(t.GetDailyCapMinutes()) + " sur ce marché, ou le plafond du dispositif tous marchés et immersions confondus."
	case fundingv1.RejectionReason_REJECTION_REASON_WEEKLY_CAP_EXCEEDED:
		return "Plafond hebdomadaire dépassé : avec les heures déjà acceptées cette semaine-là, le stagiaire dépasserait " +
			fr.Minutes(t.GetWeeklyCapMinutes()) + " sur ce marché, ou le plafond du dispositif tous marchés et immersions confondus."
	case fundingv1.RejectionReason_REJECTION_REASON_DUPLICATE_LINE_ID:
		return "Référence déjà utilisée sur ce marché pour une autre ligne : donnez une autre référence, ou corrigez la ligne déjà déclarée."
	case fundingv1.RejectionReason_REJECTION_REASON_PERIOD_CLOSED:
		return "Les relevés de ce mois et des suivants sont clos : la ligne ne peut plus être facturée sur ce marché."
	case fundingv1.RejectionReason_REJECTION_REASON_BUDGET_EXCEEDED:
		return "L'enveloppe annuelle du marché (" + fr.Money(t.GetAnnualEnvelopeCents()) + ") est épuisée."
	case fundingv1.RejectionReason_REJECTION_REASON_UNIT_NOT_IN_CONTRACT:
		return "Ce marché ne paie pas les heures stagiaire."
	case fundingv1.RejectionReason_REJECTION_REASON_DATE_IN_FUTURE:
		return "Date postérieure à aujourd'hui : déclarez les heures une fois réalisées."
	case fundingv1.RejectionReason_REJECTION_REASON_TERRITORY_NOT_IN_LOT:
		return "Le territoire du stagiaire n'est pas dans le lot du marché."
	}
	return fr.Label(reason) + "."
}

// importRow is a line as the import's report shows it.
type importRow struct {
	importLine
	Name, Result, Badge, Cells, CorrectURL string
}

// importView is what the import's page shows.
type importView struct {
	ID, FileName, Contract, ContractID string
	Finished                           bool
	Done, Total                        int
	Progress                           string
	Failure                            string
	Accepted, Already, Rejected        int
	Amount                             int64
	Warning                            bool
	RejectedRows, AcceptedRows         []importRow
	AcceptedCount                      int
	AcceptedTruncated                  bool
	Rows                               int
	RejectsName                        string
	RejectedTable, AcceptedTable       lineTable
}

// lineTable is a table of an import's lines.
type lineTable struct {
	Rows            []importRow
	Caption, Region string
}

func (imp *hourImport) view() importView {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	v := importView{
		ID: imp.ID, FileName: imp.FileName, Contract: imp.Contract, ContractID: imp.ContractID, Finished: imp.finished,
		Done: imp.done, Total: len(imp.toSend), Failure: imp.failure, Warning: imp.warning, Rows: len(imp.lines),
	}
	v.Progress = progressText(v.Done, v.Total)
	if !imp.finished {
		return v
	}
	for _, l := range imp.lines {
		row := importRow{importLine: l}
		if l.Readable {
			row.Name = nameOr(imp.names, l.LearnerID)
		} else {
			row.Cells = strings.Join(l.Cells, " ; ")
		}
		switch l.State {
		case lineAccepted:
			v.Accepted++
			v.Amount += l.Amount
			row.Result, row.Badge = "Acceptée", "success"
		case lineAlready:
			v.Already++
			row.Result, row.Badge = "Déjà déclarée", "info"
		default:
			v.Rejected++
			row.Result, row.Badge = "Rejetée", "error"
			if l.State == lineUnsent {
				row.Result, row.Badge = "Non déclarée", "warning"
			}
			v.RejectedRows = append(v.RejectedRows, row)
			continue
		}
		if l.Period.Valid() {
			row.CorrectURL = "/declarations/correction?" + url.Values{
				"contrat": {imp.ContractID}, "periode": {l.Period.String()}, "ligne": {l.LineID},
			}.Encode()
		}
		v.AcceptedCount++
		if len(v.AcceptedRows) < maxAcceptedShown {
			v.AcceptedRows = append(v.AcceptedRows, row)
		} else {
			v.AcceptedTruncated = true
		}
	}
	v.RejectedTable = lineTable{Rows: v.RejectedRows, Caption: "Lignes rejetées, dans l'ordre du fichier", Region: "rejets"}
	v.AcceptedTable = lineTable{Rows: v.AcceptedRows, Caption: "Lignes acceptées ou déjà déclarées, dans l'ordre du fichier", Region: "acceptees"}
	return v
}

// progressText is « 1 500 lignes sur 4 000 ».
func progressText(done, total int) string {
	word := "ligne"
	if total > 1 {
		word = "lignes"
	}
	return fr.Int(done) + " " + word + " sur " + fr.Int(total)
}

// importPage shows an import: its progress while it runs, then every
// line's fate.
func (c *Console) importPage(w http.ResponseWriter, r *http.Request, s *session) {
	imp := c.imports.get(r.PathValue("id"), s.principal.OperatorID, time.Now())
	if imp == nil {
		c.importNotFound(w, r, s)
		return
	}
	v := imp.view()
	title := "Déclaration en cours"
	if v.Finished {
		title = "Résultat de la déclaration"
	}
	c.pages.render(w, r, s, http.StatusOK, "report_import", map[string]any{"Title": title, "Import": v})
}

func (c *Console) importNotFound(w http.ResponseWriter, r *http.Request, s *session) {
	c.pages.error(w, r, s, http.StatusNotFound, "Déclaration introuvable",
		"Cette déclaration n'existe pas, n'est pas la vôtre, ou date de plus de deux heures : le relevé du mois montre les lignes acceptées.")
}

// importState is an import's progress, for the page's script.
func (c *Console) importState(w http.ResponseWriter, r *http.Request, s *session) {
	imp := c.imports.get(r.PathValue("id"), s.principal.OperatorID, time.Now())
	if imp == nil {
		http.Error(w, `{"error":"introuvable"}`, http.StatusNotFound)
		return
	}
	imp.mu.Lock()
	state := struct {
		Done     int    `json:"done"`
		Total    int    `json:"total"`
		Finished bool   `json:"finished"`
		Text     string `json:"text"`
	}{imp.done, len(imp.toSend), imp.finished, progressText(imp.done, len(imp.toSend))}
	imp.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(state)
}

// importRejects writes the rejected lines back in the file's format, with
// their reasons, to fix and send again.
func (c *Console) importRejects(w http.ResponseWriter, r *http.Request, s *session) {
	imp := c.imports.get(r.PathValue("id"), s.principal.OperatorID, time.Now())
	if imp == nil {
		c.importNotFound(w, r, s)
		return
	}
	imp.mu.Lock()
	rejected := map[int]string{}
	for _, l := range imp.lines {
		if l.State == lineRejected || l.State == lineUnsent {
			rejected[l.Line] = l.Reason
		}
	}
	finished := imp.finished
	imp.mu.Unlock()
	if !finished {
		c.pages.error(w, r, s, http.StatusConflict, "Déclaration en cours", "Les lignes rejetées seront disponibles à la fin de la déclaration.")
		return
	}
	var buf bytes.Buffer
	if err := sheet.WriteRejects(&buf, imp.table, rejected); err != nil {
		c.log.Error("console: rejects unwritable", "import", imp.ID, "error", err)
		c.pages.error(w, r, s, http.StatusInternalServerError, "Erreur", "Le fichier des lignes rejetées n'a pas pu être écrit.")
		return
	}
	contentType := "text/csv; charset=utf-8"
	switch {
	case imp.table.Format == sheet.FormatXLSX:
		contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case imp.table.Encoding == sheet.EncodingWindows1252:
		contentType = "text/csv; charset=windows-1252"
	}
	attachment(w, contentType, rejectsName(imp.FileName, imp.table.Format))
	_, _ = w.Write(buf.Bytes())
}

// rejectsName is the name of the rejects of a file: « heures-rejets.csv ».
func rejectsName(name string, format sheet.Format) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	base = strings.TrimSuffix(base, path.Ext(base))
	if base == "" || base == "." || base == "/" {
		base = "heures"
	}
	ext := ".csv"
	if format == sheet.FormatXLSX {
		ext = ".xlsx"
	}
	return base + "-rejets" + ext
}

// correctionView is what the correction page shows.
type correctionView struct {
	ContractID, Contract, Period, LineID string
	PeriodLabel                          string
	Line                                 *fundingv1.StatementLine
	Terms                                *fundingv1.ContractTerms
	Name                                 string
	Minutes, Activity, Reason, RequestID string
	Problems                             problems
}

// findStatementLine finds a trainee-hour line of a statement by its
// operator line id, paging through the statement.
func (c *Console) findStatementLine(ctx context.Context, contractID string, period civil.Month, lineID string) (*fundingv1.Statement, *fundingv1.StatementLine, error) {
	token := ""
	for {
		res, err := c.api.Funding.GetStatement(ctx, &fundingv1.GetStatementRequest{
			ContractId: contractID, Period: civilpb.FromMonth(period), PageSize: 2000, PageToken: token,
		})
		if err != nil {
			return nil, nil, err
		}
		for _, l := range res.GetStatement().GetLines() {
			if l.GetUnit() == fundingv1.Unit_UNIT_TRAINEE_HOUR && l.GetOperatorLineId() == lineID && l.GetCorrectsLineId() == "" {
				return res.GetStatement(), l, nil
			}
		}
		if token = res.GetNextPageToken(); token == "" {
			return res.GetStatement(), nil, nil
		}
	}
}

// correctionTarget reads the line a correction is about, from the query
// (GET) or the form (POST); false when the page was answered.
func (c *Console) correctionTarget(w http.ResponseWriter, r *http.Request, s *session) (correctionView, bool) {
	v := correctionView{ContractID: r.FormValue("contrat"), Period: r.FormValue("periode"), LineID: r.FormValue("ligne")}
	period, err := civil.ParseMonth(v.Period)
	if v.ContractID == "" || v.LineID == "" || err != nil {
		c.pages.error(w, r, s, http.StatusBadRequest, "Ligne à corriger inconnue",
			"Ouvrez la correction depuis le résultat d'une déclaration ou depuis le relevé du mois.")
		return v, false
	}
	ctx := c.call(r, s)
	_, line, err := c.findStatementLine(ctx, v.ContractID, period, v.LineID)
	if err != nil {
		c.failed(w, r, s, err)
		return v, false
	}
	if line == nil {
		c.pages.error(w, r, s, http.StatusNotFound, "Ligne introuvable",
			"Aucune ligne d'heures stagiaire de référence « "+v.LineID+" » sur le relevé de "+fr.CivilMonth(period)+".")
		return v, false
	}
	if cres, err := c.api.Funding.GetContract(ctx, &fundingv1.GetContractRequest{ContractId: v.ContractID}); err == nil {
		v.Contract, v.Terms = cres.GetContract().GetTerms().GetReference(), cres.GetContract().GetTerms()
	}
	v.Line, v.PeriodLabel = line, fr.CivilMonth(period)
	if name, err := c.learnerName(ctx, line.GetLearnerId()); err == nil {
		v.Name = name
	} else {
		v.Name = line.GetLearnerId()
	}
	return v, true
}

// correctionForm shows a trainee-hour line and the form that corrects it.
func (c *Console) correctionForm(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.correctionTarget(w, r, s)
	if !ok {
		return
	}
	v.Minutes = fr.Minutes(v.Line.GetMinutes())
	v.Activity = v.Line.GetActivity().String()
	v.RequestID = randomToken()
	c.renderCorrection(w, r, s, http.StatusOK, v)
}

func (c *Console) renderCorrection(w http.ResponseWriter, r *http.Request, s *session, status int, v correctionView) {
	c.pages.render(w, r, s, status, "report_correction", map[string]any{
		"Title": "Corriger une ligne", "Form": v, "Problems": v.Problems,
		"Activities": fr.Options(fundingv1.ActivityType(0).Descriptor()),
	})
}

// correctLine sends a correction; the form's request id makes a double
// submit one correction.
func (c *Console) correctLine(w http.ResponseWriter, r *http.Request, s *session) {
	v, ok := c.correctionTarget(w, r, s)
	if !ok {
		return
	}
	v.Minutes = strings.TrimSpace(r.PostFormValue("duree"))
	v.Activity = r.PostFormValue("activite")
	v.Reason = strings.TrimSpace(r.PostFormValue("motif"))
	v.RequestID = r.PostFormValue("request_id")
	if v.RequestID == "" {
		v.RequestID = randomToken()
	}
	minutes, err := fr.ParseMinutes(v.Minutes)
	if err != nil {
		v.Problems.add("duree", "Durée illisible : "+err.Error()+".")
	}
	activity, okActivity := enumValue(v.Activity, fundingv1.ActivityType_value)
	if !okActivity {
		v.Problems.add("activite", "Choisissez l'activité.")
	}
	if v.Problems.any() {
		v.Problems.General = "Corrigez les champs signalés."
		c.renderCorrection(w, r, s, http.StatusUnprocessableEntity, v)
		return
	}
	res, err := c.api.Funding.CorrectLine(c.call(r, s), &fundingv1.CorrectLineRequest{
		RequestId: v.RequestID, ContractId: v.ContractID, LearnerId: v.Line.GetLearnerId(), Date: v.Line.GetDate(),
		CorrectsLineId: v.LineID, OperatorLineId: correctionLineID(v.LineID, v.RequestID),
		Minutes: minutes, Activity: fundingv1.ActivityType(activity), Reason: v.Reason,
	})
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		v.Problems = correctionProblems(err)
		c.renderCorrection(w, r, s, http.StatusUnprocessableEntity, v)
		return
	}
	if result := res.GetResult(); !result.GetAccepted() {
		msg := rejectionText(result, v.Terms)
		switch result.GetReason() {
		case fundingv1.RejectionReason_REJECTION_REASON_DAILY_CAP_EXCEEDED, fundingv1.RejectionReason_REJECTION_REASON_WEEKLY_CAP_EXCEEDED:
			v.Problems.add("duree", msg)
			v.Problems.General = "La correction est refusée : rien n'a été enregistré."
		default:
			v.Problems.General = "La correction est refusée : " + msg
		}
		// A refused correction recorded nothing: a new attempt is a new command.
		v.RequestID = randomToken()
		c.renderCorrection(w, r, s, http.StatusUnprocessableEntity, v)
		return
	}
	done := "Correction enregistrée : " + v.Name + ", le " + fr.Date(v.Line.GetDate()) + ", " + fr.Minutes(v.Line.GetMinutes()) + " → " + fr.Minutes(minutes)
	if minutes == 0 {
		done = "Ligne annulée : " + v.Name + ", le " + fr.Date(v.Line.GetDate()) + ", " + fr.Minutes(v.Line.GetMinutes())
	}
	s.setFlash(done + " (écart " + fr.Money(res.GetAmountDeltaCents()) + ").")
	http.Redirect(w, r, "/releves/"+url.PathEscape(v.ContractID)+"/"+v.Period, http.StatusSeeOther)
}

// correctionLineID is the operator line id of a correction: the line's,
// marked, and the request's (one correction per request).
func correctionLineID(lineID, requestID string) string {
	sum := sha256.Sum256([]byte(lineID + "|" + requestID))
	tag := hex.EncodeToString(sum[:5])
	if id := lineID + "-corr-" + tag; len(id) <= 64 {
		return id
	}
	return "corr-" + hex.EncodeToString(sum[:16])
}

// correctionProblems says in French, next to its field, why funding
// refused a correction.
func correctionProblems(err error) problems {
	var p problems
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, fv := range br.GetFieldViolations() {
			switch fv.GetField() {
			case "minutes":
				p.add("duree", "Durée refusée : de 0 (la ligne est annulée) à 24\u00a0h.")
			case "activity":
				p.add("activite", "Choisissez l'activité.")
			case "reason":
				p.add("motif", "Motif refusé : il est obligatoire, et ne doit pas dépasser quelques phrases.")
			}
		}
	}
	switch {
	case len(p.Fields) > 0:
		p.General = "Corrigez les champs signalés."
	case st.Code() == codes.NotFound:
		p.General = "La ligne à corriger est introuvable dans la semaine de sa date."
	case st.Code() == codes.FailedPrecondition:
		p.General = "Cette ligne ne peut pas être corrigée ainsi : corrigez la ligne d'origine, pas une correction."
	default:
		p.General = fromAPI(err, nil).General
	}
	return p
}
