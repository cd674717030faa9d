package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	fundingv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/funding/v1"
	pathwayv1 "github.com/avenir-normandie/avenir/proto/gen/go/avenir/pathway/v1"
	"github.com/avenir-normandie/avenir/services/console/fr"
	"github.com/avenir-normandie/avenir/services/platform/civil"
	"github.com/avenir-normandie/avenir/services/platform/civilpb"
	"github.com/avenir-normandie/avenir/services/platform/paging"
)

func (c *Console) feeRoutes() {
	c.mux.HandleFunc("GET /declarations/forfaits", c.operatorPage(c.feesPage))
	c.mux.HandleFunc("POST /declarations/forfaits", c.operatorPage(c.claimFee))
}

// feeRow is a fact that can pay one of the contract's flat fees, as the
// fee page lists it.
type feeRow struct {
	Fee   *fundingv1.ClaimableFee
	Name  string
	State string // in French
	// Claimable: the fact a claim takes now (the button).
	Claimable bool
	// Later: claimable once the learner's earlier fact of the type is.
	Later bool
	// RequestID is the claim's, fixed when the page is shown: a double
	// submit is one claim.
	RequestID string
}

// customRate is a custom fee the contract pays.
type customRate struct {
	Code, Label string
	Amount      int64
}

// learnerChoice is a learner offered in a form.
type learnerChoice struct{ ID, Name string }

// feeStateText is a fact's state in French; a fact not eligible says why.
func feeStateText(f *fundingv1.ClaimableFee) string {
	if f.GetState() == fundingv1.FeeClaimState_FEE_CLAIM_STATE_NOT_ELIGIBLE {
		return fr.Label(f.GetState()) + "\u00a0: " + lowerFirst(fr.Label(f.GetReason()))
	}
	return fr.Label(f.GetState())
}

// feeLineID is the operator line id of the claim of a fact's fee: derived
// from the fact, so that a fact is claimed under one line id whoever clicks
// and however often.
func feeLineID(t fundingv1.FeeType, factRef string) string {
	id := "fee-" + strconv.Itoa(int(t)) + "-" + factRef
	if len(id) <= 64 && !strings.ContainsAny(id, " \t\r\n") {
		return id
	}
	sum := sha256.Sum256([]byte(factRef))
	return "fee-" + strconv.Itoa(int(t)) + "-" + hex.EncodeToString(sum[:16])
}

// feesPage lists the facts that can pay the chosen contract's flat fees,
// by learner name, with a button for each fact a claim would take now, and
// a form for the contract's custom fees.
func (c *Console) feesPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderFees(w, r, s, http.StatusOK, r.URL.Query().Get("contrat"), "", nil)
}

func (c *Console) renderFees(w http.ResponseWriter, r *http.Request, s *session, status int, contractID, refused string, p *problems) {
	ctx := c.call(r, s)
	contracts, err := c.contracts(ctx, s.principal.OperatorID)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if contractID == "" && len(contracts) == 1 {
		contractID = contracts[0].GetContractId()
	}
	data := map[string]any{
		"Title": "Demander des forfaits", "Contracts": contracts, "Contract": contractID, "Refused": refused,
		"RequestID": randomToken(), "Problems": p,
	}
	if contractID == "" {
		c.pages.render(w, r, s, status, "fees", data)
		return
	}
	i := slices.IndexFunc(contracts, func(k *fundingv1.Contract) bool { return k.GetContractId() == contractID })
	if i < 0 {
		c.pages.error(w, r, s, http.StatusNotFound, "Introuvable", "Ce marché n'existe pas, ou il n'est pas le vôtre.")
		return
	}
	contract := contracts[i]
	fees, err := paging.All(func(token string) ([]*fundingv1.ClaimableFee, string, error) {
		res, err := c.api.Funding.ListClaimableFees(ctx, &fundingv1.ListClaimableFeesRequest{ContractId: contractID, PageSize: 1000, PageToken: token})
		return res.GetFees(), res.GetNextPageToken(), err
	})
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	var customs []customRate
	for _, f := range contract.GetTerms().GetFlatFees() {
		if f.GetFeeType() == fundingv1.FeeType_FEE_TYPE_CUSTOM {
			customs = append(customs, customRate{Code: f.GetCustomCode(), Label: f.GetLabel(), Amount: f.GetAmountCents()})
		}
	}
	ids := make([]string, 0, len(fees))
	for _, f := range fees {
		ids = append(ids, f.GetLearnerId())
	}
	var enrolled []*pathwayv1.EnrolmentListing
	if len(customs) > 0 {
		if enrolled, err = c.enrolledOn(ctx, s.principal.OperatorID, contractID, c.today()); err != nil {
			c.failed(w, r, s, err)
			return
		}
		for _, l := range enrolled {
			ids = append(ids, l.GetLearnerId())
		}
	}
	names, err := c.learnerNames(ctx, ids)
	if err != nil {
		c.log.Warn("console: learner names unavailable", "error", err)
	}
	rows := make([]feeRow, 0, len(fees))
	for _, f := range fees {
		claimable := f.GetState() == fundingv1.FeeClaimState_FEE_CLAIM_STATE_CLAIMABLE
		rows = append(rows, feeRow{Fee: f, Name: nameOr(names, f.GetLearnerId()), State: feeStateText(f),
			Claimable: claimable && f.GetNextToClaim(), Later: claimable && !f.GetNextToClaim(), RequestID: randomToken()})
	}
	// By name, each learner's facts in the order they happened.
	slices.SortStableFunc(rows, func(a, b feeRow) int { return strings.Compare(a.Name, b.Name) })
	data["Selected"] = contract
	data["Rows"] = rows
	data["Customs"] = customs
	data["Learners"] = learnerChoices(enrolled, names)
	c.pages.render(w, r, s, status, "fees", data)
}

// enrolledOn lists the operator's enrolments with a contract covering day.
func (c *Console) enrolledOn(ctx context.Context, operatorID, contractID string, day civil.Date) ([]*pathwayv1.EnrolmentListing, error) {
	return paging.All(func(token string) ([]*pathwayv1.EnrolmentListing, string, error) {
		res, err := c.api.Pathway.ListEnrolments(ctx, &pathwayv1.ListEnrolmentsRequest{
			OperatorId: operatorID, ContractId: contractID, ActiveOn: civilpb.FromDate(day), PageSize: 200, PageToken: token,
		})
		return res.GetEnrolments(), res.GetNextPageToken(), err
	})
}

// learnerChoices are the enrolled learners, each once, by name.
func learnerChoices(enrolled []*pathwayv1.EnrolmentListing, names map[string]string) []learnerChoice {
	var out []learnerChoice
	seen := map[string]bool{}
	for _, l := range enrolled {
		if id := l.GetLearnerId(); !seen[id] {
			seen[id] = true
			out = append(out, learnerChoice{ID: id, Name: nameOr(names, id)})
		}
	}
	slices.SortFunc(out, func(a, b learnerChoice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// claimFee claims a flat fee: a standard fee for the fact of the row
// clicked, or a custom fee with its evidence. Accepted: back to the list
// with the amount; refused: the list again, with the reason in French.
func (c *Console) claimFee(w http.ResponseWriter, r *http.Request, s *session) {
	contractID := r.PostFormValue("contract")
	req := &fundingv1.ClaimFlatFeeRequest{
		RequestId: r.PostFormValue("request_id"), ContractId: contractID, LearnerId: r.PostFormValue("learner"),
	}
	var p problems
	if code := r.PostFormValue("custom_code"); code != "" {
		req.FeeType, req.CustomCode = fundingv1.FeeType_FEE_TYPE_CUSTOM, code
		req.EvidenceReference = strings.TrimSpace(r.PostFormValue("evidence"))
		if req.LearnerId == "" {
			p.add("forfait-stagiaire", "Choisissez le stagiaire.")
		}
		if req.EvidenceReference == "" {
			p.add("justificatif", "Indiquez la référence du justificatif.")
		}
		req.OperatorLineId = "fee-c-" + req.GetRequestId()
		if len(req.OperatorLineId) > 64 {
			req.OperatorLineId = req.OperatorLineId[:64]
		}
	} else {
		n, err := strconv.Atoi(r.PostFormValue("fee_type"))
		if err != nil || n <= 0 || fundingv1.FeeType(n) == fundingv1.FeeType_FEE_TYPE_CUSTOM {
			c.pages.error(w, r, s, http.StatusBadRequest, "Demande invalide", "Le type de forfait envoyé est inconnu.")
			return
		}
		req.FeeType = fundingv1.FeeType(n)
		req.OperatorLineId = feeLineID(req.FeeType, r.PostFormValue("fact"))
	}
	if p.any() {
		p.General = "Corrigez les champs signalés."
		c.renderFees(w, r, s, http.StatusUnprocessableEntity, contractID, "", &p)
		return
	}
	ctx := c.call(r, s)
	res, err := c.api.Funding.ClaimFlatFee(ctx, req)
	if err != nil {
		if isUnauthenticated(err) {
			c.failed(w, r, s, err)
			return
		}
		p := fromAPI(err, map[string]string{"evidence_reference": "justificatif", "learner_id": "forfait-stagiaire"})
		c.renderFees(w, r, s, http.StatusUnprocessableEntity, contractID, "", &p)
		return
	}
	names, _ := c.learnerNames(ctx, []string{req.GetLearnerId()})
	who := nameOr(names, req.GetLearnerId())
	what := fr.Label(req.GetFeeType())
	if req.GetCustomCode() != "" {
		what = req.GetCustomCode()
	}
	result := res.GetResult()
	if !result.GetAccepted() {
		c.renderFees(w, r, s, http.StatusUnprocessableEntity, contractID,
			"Forfait « "+what+" » refusé pour "+who+" : "+lowerFirst(fr.Label(result.GetReason()))+".", nil)
		return
	}
	msg := "Forfait « " + what + " » accepté pour " + who + " : " + fr.Money(result.GetAmountCents()) + ", relevé de " + fr.Month(result.GetBillingPeriod())
	if result.GetLate() {
		msg += " (déclaration tardive)"
	}
	if result.GetAlreadyReported() {
		msg += " (déjà demandé)"
	}
	s.setFlash(msg + ".")
	http.Redirect(w, r, "/declarations/forfaits?contrat="+url.QueryEscape(contractID), http.StatusSeeOther)
}

// lowerFirst lowers the first letter of a label put inside a sentence.
func lowerFirst(s string) string {
	for i, r := range s {
		return strings.ToLower(string(r)) + s[i+len(string(r)):]
	}
	return s
}
