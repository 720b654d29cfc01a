package http_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"epicevents/internal/apitest"
)

func TestCreateContractDefaultsAndExactAmounts(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	billID, bill := api.CreateCollaborator("bill", "commercial")
	clientID := newClient(t, api, bill)
	res := api.Post("/v1/contracts", api.ManagerToken, map[string]any{"client_id": clientID, "total_amount": "15000.5"})
	body := expect(t, res, http.StatusCreated)
	id := body["id"].(string)
	client := body["client"].(map[string]any)
	if res.Header.Get("Location") != "/v1/contracts/"+id || res.Header.Get("ETag") != `"1"` ||
		body["total_amount"] != "15000.50" || body["amount_due"] != "15000.50" || body["currency"] != "EUR" ||
		body["signed"] != false || body["signed_at"] != nil || client["id"] != clientID ||
		client["company_name"] != "Cool Startup LLC" || body["commercial"].(map[string]any)["id"] != billID {
		t.Fatalf("contract: %s", res.Body)
	}
	res = api.Post("/v1/contracts", api.ManagerToken, map[string]any{"client_id": clientID,
		"total_amount": "9999999999.99", "amount_due": "0.1", "currency": "USD", "signed": true})
	body = expect(t, res, http.StatusCreated)
	if body["total_amount"] != "9999999999.99" || body["amount_due"] != "0.10" || body["currency"] != "USD" ||
		body["signed"] != true || body["signed_at"] == nil {
		t.Fatalf("contract: %s", res.Body)
	}
	if n := api.Count(`SELECT count(*) FROM contracts WHERE total_amount = 9999999999.99 AND amount_due = 0.10`); n != 1 {
		t.Fatalf("stored amounts differ")
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_type = 'contract' AND action = 'create'
		AND changes->'total_amount'->>'to' = '15000.50'`); n != 1 {
		t.Fatalf("create audit rows = %d", n)
	}
}

func TestCreateContractValidation(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	clientID := newClient(t, api, bill)
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"missing", map[string]any{}, []string{"client_id", "total_amount"}},
		{"amount as number", map[string]any{"client_id": clientID, "total_amount": 15000}, []string{"total_amount"}},
		{"three decimals", map[string]any{"client_id": clientID, "total_amount": "1.234"}, []string{"total_amount"}},
		{"negative", map[string]any{"client_id": clientID, "total_amount": "-1"}, []string{"total_amount"}},
		{"eleven digits", map[string]any{"client_id": clientID, "total_amount": "12345678901"}, []string{"total_amount"}},
		{"exponent", map[string]any{"client_id": clientID, "total_amount": "1e3"}, []string{"total_amount"}},
		{"padded", map[string]any{"client_id": clientID, "total_amount": " 10"}, []string{"total_amount"}},
		{"due above total", map[string]any{"client_id": clientID, "total_amount": "10", "amount_due": "10.01"}, []string{"amount_due"}},
		{"lower-case currency", map[string]any{"client_id": clientID, "total_amount": "10", "currency": "eur"}, []string{"currency"}},
		{"unknown currency", map[string]any{"client_id": clientID, "total_amount": "10", "currency": "ABC"}, []string{"currency"}},
		{"client not a uuid", map[string]any{"client_id": "42", "total_amount": "10"}, []string{"client_id"}},
		{"unknown client", map[string]any{"client_id": "00000000-0000-4000-8000-000000000000", "total_amount": "10"}, []string{"client_id"}},
		{"signed not bool", map[string]any{"client_id": clientID, "total_amount": "10", "signed": "yes"}, []string{"signed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := apitest.AssertProblem(t, api.Post("/v1/contracts", api.ManagerToken, c.body), 422, "validation")
			if got := apitest.FieldsOf(body); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
		})
	}
	if n := api.Count(`SELECT count(*) FROM contracts`); n != 0 {
		t.Fatalf("bad input wrote contracts: %d", n)
	}
}

func TestContractSignatureRules(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	id := newContract(t, api, newClient(t, api, bill), "15000", false)
	path := "/v1/contracts/" + id

	api.Clock.Advance(5 * time.Minute)
	res := api.Patch(path, bill, map[string]any{"signed": true, "amount_due": "5000"})
	body := expect(t, res, http.StatusOK)
	signedAt := api.Clock.Now().UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	if body["signed"] != true || body["signed_at"] != signedAt || body["amount_due"] != "5000.00" || body["version"].(float64) != 2 {
		t.Fatalf("sign: %s", res.Body)
	}

	// Re-sending what is already true is not a change.
	api.Clock.Advance(5 * time.Minute)
	body = expect(t, api.Patch(path, bill, map[string]any{"signed": true, "total_amount": "15000.00"}), http.StatusOK)
	if body["version"].(float64) != 2 || body["signed_at"] != signedAt {
		t.Fatalf("no-op moved the contract: %v", body)
	}
	apitest.AssertProblem(t, api.Patch(path, bill, map[string]any{"signed": false}), 409, "contract-signed")
	apitest.AssertProblem(t, api.Patch(path, api.ManagerToken, map[string]any{"total_amount": "16000"}), 409, "contract-signed")
	// The amount due still moves as the client pays.
	body = expect(t, api.Patch(path, bill, map[string]any{"amount_due": "0"}), http.StatusOK)
	if body["amount_due"] != "0.00" || body["version"].(float64) != 3 {
		t.Fatalf("payment: %v", body)
	}
	// 422 before 409.
	apitest.AssertProblem(t, api.Patch(path, bill, map[string]any{"total_amount": "x"}), 422, "validation")
	if n := auditCount(api, id); n != 3 {
		t.Fatalf("audit rows = %d, want 3", n)
	}
	if n := api.Count(`SELECT count(*) FROM contracts WHERE id = $1 AND total_amount = 15000 AND signed AND version = 3`, id); n != 1 {
		t.Fatalf("contract changed by a refused write")
	}
}

func TestContractAmountsAgainstTheStoredRecord(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	id := newContract(t, api, newClient(t, api, bill), "100", false)
	path := "/v1/contracts/" + id
	body := apitest.AssertProblem(t, api.Patch(path, bill, map[string]any{"amount_due": "100.01"}), 422, "validation")
	if !slices.Equal(apitest.FieldsOf(body), []string{"amount_due"}) {
		t.Fatalf("fields: %v", body)
	}
	expect(t, api.Patch(path, bill, map[string]any{"amount_due": "40"}), 200)
	body = apitest.AssertProblem(t, api.Patch(path, bill, map[string]any{"total_amount": "39.99"}), 422, "validation")
	if !slices.Equal(apitest.FieldsOf(body), []string{"total_amount"}) {
		t.Fatalf("fields: %v", body)
	}
	body = expect(t, api.Patch(path, bill, map[string]any{"total_amount": "40", "amount_due": "0"}), 200)
	if body["total_amount"] != "40.00" || body["amount_due"] != "0.00" {
		t.Fatalf("amounts: %v", body)
	}
}

func TestContractWritePermissions(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, bill := api.CreateCollaborator("bill", "commercial")
	_, other := api.CreateCollaborator("other", "commercial")
	_, kate := api.CreateCollaborator("kate", "support")
	clientID := newClient(t, api, bill)
	id := newContract(t, api, clientID, "100", false)
	body := map[string]any{"client_id": clientID, "total_amount": "10"}
	apitest.AssertProblem(t, api.Post("/v1/contracts", bill, body), 403, "forbidden")
	apitest.AssertProblem(t, api.Post("/v1/contracts", kate, body), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+id, other, map[string]any{"signed": true}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+id, other, map[string]any{}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+id, kate, map[string]any{"signed": true}), 403, "forbidden")
	apitest.AssertProblem(t, api.Patch("/v1/contracts/00000000-0000-4000-8000-000000000000", other, map[string]any{}), 404, "not-found")
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+id, bill, map[string]any{"currency": "USD"}), 422, "validation")
	expect(t, api.Patch("/v1/contracts/"+id, api.ManagerToken, map[string]any{"amount_due": "50"}), 200)
	expect(t, api.Patch("/v1/contracts/"+id, bill, map[string]any{"amount_due": "40"}), 200)
	// The contract's commercial follows the client's reassignment.
	otherID := api.Caller(other)
	expect(t, api.Patch("/v1/clients/"+clientID, api.ManagerToken, map[string]any{"commercial_id": otherID}), 200)
	got := expect(t, api.Get("/v1/contracts/"+id, kate), 200)
	if got["commercial"].(map[string]any)["id"] != otherID || got["version"].(float64) != 3 {
		t.Fatalf("commercial did not follow: %v", got)
	}
	expect(t, api.Patch("/v1/contracts/"+id, other, map[string]any{"amount_due": "30"}), 200)
	apitest.AssertProblem(t, api.Patch("/v1/contracts/"+id, bill, map[string]any{"amount_due": "20"}), 403, "forbidden")
	if n := api.Count(`SELECT count(*) FROM contracts`); n != 1 {
		t.Fatalf("contracts = %d", n)
	}
}
