package apiclient_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"epicevents/internal/apiclient"
	"epicevents/internal/apitest"
	"epicevents/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// These tests drive the real server over HTTP with the client generated
// from openapi.yaml; api.Server checks every exchange against the document
// as well.

func newClient(t *testing.T, api *apitest.API) *apiclient.ClientWithResponses {
	t.Helper()
	srv := api.Server()
	c, err := apiclient.NewClientWithResponses(srv.URL, apiclient.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// as sends the access token of a collaborator.
func as(token string) apiclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func login(t *testing.T, c *apiclient.ClientWithResponses, username, password string) apiclient.TokenPair {
	t.Helper()
	res, err := c.LoginWithResponse(context.Background(), nil, apiclient.LoginRequest{Username: username, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("login %s: %d %s", username, res.StatusCode(), res.Body)
	}
	return *res.JSON200
}

func TestGeneratedClientManagesCollaborators(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	c := newClient(t, api)
	ctx := context.Background()

	manager := login(t, c, "manager", apitest.ManagerPassword)
	if manager.TokenType != apiclient.Bearer || manager.ExpiresIn != 900 || manager.RefreshToken == "" {
		t.Fatalf("token pair: %+v", manager)
	}
	bad, err := c.LoginWithResponse(ctx, nil, apiclient.LoginRequest{Username: "manager", Password: "not-the-password"})
	if err != nil || bad.ApplicationproblemJSON401 == nil || bad.ApplicationproblemJSON401.Type != apiclient.ProblemUnauthenticatedTypeUrnEpicEventsProblemUnauthenticated {
		t.Fatalf("wrong password: %v %d %s", err, bad.StatusCode(), bad.Body)
	}

	me, err := c.GetMeWithResponse(ctx, nil, as(manager.AccessToken))
	if err != nil || me.JSON200 == nil {
		t.Fatalf("me: %v %s", err, me.Body)
	}
	if me.JSON200.Department != apiclient.Management || !slices.Contains(me.JSON200.Permissions, apiclient.PermissionCollaboratorCreate) ||
		me.Headers200.ETag != `"1"` || !me.JSON200.DeletedAt.IsNull() {
		t.Fatalf("me: %+v %+v", me.JSON200, me.Headers200)
	}

	key := uuid.NewString()
	create := func() *apiclient.CreateCollaboratorResponse {
		res, err := c.CreateCollaboratorWithResponse(ctx, &apiclient.CreateCollaboratorParams{IdempotencyKey: &key},
			apiclient.CollaboratorCreate{
				EmployeeNumber: 42, FirstName: "Kate", LastName: "Hastroff", Email: "kate@epic-events.test",
				Username: "kate", Department: apiclient.Support, Password: "a-long-and-private-phrase",
			}, as(manager.AccessToken))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	created := create()
	if created.JSON201 == nil {
		t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
	}
	kate := *created.JSON201
	if kate.FullName != "Kate Hastroff" || kate.Version != 1 || created.Headers201.Location != "/v1/collaborators/"+kate.Id.String() {
		t.Fatalf("created: %+v %+v", kate, created.Headers201)
	}

	list, err := c.ListCollaboratorsWithResponse(ctx, &apiclient.ListCollaboratorsParams{
		Department: ptr(apiclient.Support), Sort: ptr(apiclient.ListCollaboratorsParamsSortLastName), Limit: ptr(10),
	}, as(manager.AccessToken))
	if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Id != kate.Id || !list.JSON200.NextCursor.IsNull() {
		t.Fatalf("list: %v %s", err, list.Body)
	}

	updated, err := c.UpdateCollaboratorWithResponse(ctx, kate.Id, &apiclient.UpdateCollaboratorParams{IfMatch: ptr(`"1"`)},
		apiclient.CollaboratorUpdate{Email: ptr[apiclient.Email]("kate.hastroff@epic-events.test")}, as(manager.AccessToken))
	if err != nil || updated.JSON200 == nil || updated.JSON200.Version != 2 || updated.Headers200.ETag != `"2"` {
		t.Fatalf("update: %v %s", err, updated.Body)
	}
	stale, err := c.UpdateCollaboratorWithResponse(ctx, kate.Id, &apiclient.UpdateCollaboratorParams{IfMatch: ptr(`"1"`)},
		apiclient.CollaboratorUpdate{IsActive: ptr(false)}, as(manager.AccessToken))
	if err != nil || stale.ApplicationproblemJSON412 == nil || stale.ApplicationproblemJSON412.RequestId != stale.HTTPResponse.Header.Get("X-Request-Id") {
		t.Fatalf("stale If-Match: %v %d %s", err, stale.StatusCode(), stale.Body)
	}
	missing, err := c.GetCollaboratorWithResponse(ctx, uuid.New(), nil, as(manager.AccessToken))
	if err != nil || missing.ApplicationproblemJSON404 == nil {
		t.Fatalf("unknown id: %v %d", err, missing.StatusCode())
	}

	if out, err := c.LogoutWithResponse(ctx, nil, as(manager.AccessToken)); err != nil || out.StatusCode() != http.StatusNoContent {
		t.Fatalf("logout: %v %v", err, out)
	}
	after, err := c.GetMeWithResponse(ctx, nil, as(manager.AccessToken))
	if err != nil || after.ApplicationproblemJSON401 == nil {
		t.Fatalf("me after logout: %v %d", err, after.StatusCode())
	}

	if n := api.Count(`SELECT count(*) FROM collaborators WHERE username = 'kate' AND email = 'kate.hastroff@epic-events.test' AND is_active`); n != 1 {
		t.Fatalf("kate rows = %d", n)
	}
	if n := api.Count(`SELECT count(*) FROM audit_entries WHERE record_id = $1`, kate.Id); n != 2 {
		t.Fatalf("kate's audit rows = %d, want create and update", n)
	}
}

// The brief's workflow, end to end, with the generated client: a
// commercial signs up John Ouick, management drafts the contract, the
// commercial has it signed and books the wedding, management puts Kate
// Hastroff on it, Kate updates it, and management reads the history.
func TestGeneratedClientDrivesTheWorkflow(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	c := newClient(t, api)
	ctx := context.Background()
	manager := login(t, c, "manager", apitest.ManagerPassword).AccessToken

	newCollaborator := func(number int, first, last, username string, dept apiclient.Department) apiclient.Collaborator {
		t.Helper()
		res, err := c.CreateCollaboratorWithResponse(ctx, nil, apiclient.CollaboratorCreate{
			EmployeeNumber: number, FirstName: first, LastName: last, Email: apiclient.Email(username + "@epic-events.test"),
			Username: username, Department: dept, Password: apitest.CollaboratorPassword,
		}, as(manager))
		if err != nil || res.JSON201 == nil {
			t.Fatalf("create %s: %v %s", username, err, res.Body)
		}
		return *res.JSON201
	}
	bill := newCollaborator(7, "Bill", "Boquet", "bill", apiclient.Commercial)
	kate := newCollaborator(42, "Kate", "Hastroff", "kate", apiclient.Support)

	// Bill logs in; his access token expires and he refreshes it.
	billTokens := login(t, c, "bill", apitest.CollaboratorPassword)
	api.Clock.Advance(16 * time.Minute)
	refreshed, err := c.RefreshTokensWithResponse(ctx, nil, apiclient.RefreshRequest{RefreshToken: billTokens.RefreshToken})
	if err != nil || refreshed.JSON200 == nil {
		t.Fatalf("refresh: %v %s", err, refreshed.Body)
	}
	billToken := refreshed.JSON200.AccessToken
	manager = login(t, c, "manager", apitest.ManagerPassword).AccessToken

	// Bill signs up his client.
	client, err := c.CreateClientWithResponse(ctx, &apiclient.CreateClientParams{IdempotencyKey: ptr(uuid.NewString())}, apiclient.ClientCreate{
		FullName: "John Ouick", Email: "john.ouick@gmail.com", Phone: "+1 234 567 8901",
	}, as(billToken))
	if err != nil || client.JSON201 == nil {
		t.Fatalf("create client: %v %s", err, client.Body)
	}
	if client.JSON201.Commercial.Id != bill.Id || client.JSON201.CompanyName != "" {
		t.Fatalf("client: %+v", client.JSON201)
	}

	// Management drafts the contract; Bill has it signed.
	contract, err := c.CreateContractWithResponse(ctx, nil, apiclient.ContractCreate{
		ClientId: client.JSON201.Id, TotalAmount: "15000", AmountDue: ptr("5000.5"),
	}, as(manager))
	if err != nil || contract.JSON201 == nil {
		t.Fatalf("create contract: %v %s", err, contract.Body)
	}
	if contract.JSON201.TotalAmount != "15000.00" || contract.JSON201.AmountDue != "5000.50" || contract.JSON201.Currency != "EUR" ||
		contract.JSON201.Signed || !contract.JSON201.SignedAt.IsNull() || contract.JSON201.Commercial.FullName != "Bill Boquet" {
		t.Fatalf("contract: %+v", contract.JSON201)
	}
	signed, err := c.UpdateContractWithResponse(ctx, contract.JSON201.Id,
		&apiclient.UpdateContractParams{IfMatch: ptr(contract.Headers201.ETag)},
		apiclient.ContractUpdate{Signed: ptr(true)}, as(billToken))
	if err != nil || signed.JSON200 == nil || !signed.JSON200.Signed || signed.JSON200.SignedAt.IsNull() {
		t.Fatalf("sign: %v %s", err, signed.Body)
	}

	// Bill books the wedding.
	start := api.Clock.Now().Add(190 * 24 * time.Hour).Truncate(time.Hour)
	event, err := c.CreateEventWithResponse(ctx, nil, apiclient.EventCreate{
		ContractId: contract.JSON201.Id, Name: "John Ouick Wedding", StartAt: start, EndAt: start.Add(13 * time.Hour),
		Location: "53 Rue du Château, 41120 Candé-sur-Beuvron, France", Attendees: 75,
		Notes: ptr("Wedding starts at 3PM, by the river."),
	}, as(billToken))
	if err != nil || event.JSON201 == nil {
		t.Fatalf("create event: %v %s", err, event.Body)
	}
	wedding := *event.JSON201
	if !wedding.Support.IsNull() || wedding.Timezone != "Europe/Paris" || wedding.Client.FullName != "John Ouick" {
		t.Fatalf("event: %+v", wedding)
	}

	// The list filters' keyword and id forms go out as the server reads them.
	var mine apiclient.CommercialFilter
	var unassigned, byKate apiclient.SupportFilter
	if err := errors.Join(mine.FromCommercialFilterKeyword(apiclient.CommercialFilterKeywordMe),
		unassigned.FromSupportFilterKeyword(apiclient.SupportFilterKeywordNone), byKate.FromId(kate.Id)); err != nil {
		t.Fatal(err)
	}
	listEvents := func(token string, params apiclient.ListEventsParams) []uuid.UUID {
		t.Helper()
		res, err := c.ListEventsWithResponse(ctx, &params, as(token))
		if err != nil || res.JSON200 == nil {
			t.Fatalf("list events: %v %s", err, res.Body)
		}
		var ids []uuid.UUID
		for _, e := range res.JSON200.Data {
			ids = append(ids, e.Id)
		}
		return ids
	}
	if diff := cmp.Diff([]uuid.UUID{wedding.Id}, listEvents(billToken, apiclient.ListEventsParams{Commercial: &mine, Support: &unassigned})); diff != "" {
		t.Fatalf("bill's unassigned events (-want +got):\n%s", diff)
	}

	// Management puts Kate on it.
	assigned, err := c.UpdateEventWithResponse(ctx, wedding.Id, nil,
		apiclient.EventUpdate{SupportId: nullable.NewNullableWithValue(kate.Id)}, as(manager))
	if err != nil || assigned.JSON200 == nil {
		t.Fatalf("assign support: %v %s", err, assigned.Body)
	}
	if support, err := assigned.JSON200.Support.Get(); err != nil || support.Id != kate.Id || support.FullName != "Kate Hastroff" {
		t.Fatalf("support: %+v %v", assigned.JSON200.Support, err)
	}

	if diff := cmp.Diff([]uuid.UUID(nil), listEvents(billToken, apiclient.ListEventsParams{Commercial: &mine, Support: &unassigned})); diff != "" {
		t.Fatalf("bill's unassigned events once kate runs it (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uuid.UUID{wedding.Id}, listEvents(manager, apiclient.ListEventsParams{Support: &byKate})); diff != "" {
		t.Fatalf("kate's events (-want +got):\n%s", diff)
	}

	// Kate updates the event she runs.
	kateToken := login(t, c, "kate", apitest.CollaboratorPassword).AccessToken
	noted, err := c.UpdateEventWithResponse(ctx, wedding.Id, &apiclient.UpdateEventParams{IfMatch: ptr(assigned.Headers200.ETag)},
		apiclient.EventUpdate{Notes: ptr("Wedding starts at 3PM, by the river. Bring umbrellas."), Attendees: ptr(80)}, as(kateToken))
	if err != nil || noted.JSON200 == nil || noted.JSON200.Attendees != 80 {
		t.Fatalf("support update: %v %s", err, noted.Body)
	}

	// Management reads the history, newest first.
	history, err := c.ListEventHistoryWithResponse(ctx, wedding.Id, nil, as(manager))
	if err != nil || history.JSON200 == nil {
		t.Fatalf("event history: %v %s", err, history.Body)
	}
	var actions []string
	var actors []uuid.UUID
	for _, e := range history.JSON200.Data {
		actions = append(actions, string(e.Action))
		actor, _ := e.Actor.Get()
		actors = append(actors, actor.Id)
	}
	if !slices.Equal(actions, []string{"update", "update", "create"}) ||
		!slices.Equal(actors, []uuid.UUID{kate.Id, mustID(t, manager, c), bill.Id}) {
		t.Fatalf("history: %s", history.Body)
	}
	if _, ok := history.JSON200.Data[0].Changes["notes"]; !ok {
		t.Fatalf("kate's change does not show notes: %s", history.Body)
	}
	contractHistory, err := c.ListContractHistoryWithResponse(ctx, contract.JSON201.Id, nil, as(manager))
	if err != nil || contractHistory.JSON200 == nil || len(contractHistory.JSON200.Data) != 2 {
		t.Fatalf("contract history: %v %s", err, contractHistory.Body)
	}
	if ch, ok := contractHistory.JSON200.Data[0].Changes["signed"]; !ok || ch.From != false || ch.To != true {
		t.Fatalf("signature not in history: %s", contractHistory.Body)
	}

	if n := api.Count(`SELECT count(*) FROM events WHERE id = $1 AND support_id = $2 AND attendees = 80`, wedding.Id, kate.Id); n != 1 {
		t.Fatalf("event row: %d", n)
	}
}

func mustID(t *testing.T, token string, c *apiclient.ClientWithResponses) uuid.UUID {
	t.Helper()
	me, err := c.GetMeWithResponse(context.Background(), nil, as(token))
	if err != nil || me.JSON200 == nil {
		t.Fatalf("me: %v", err)
	}
	return me.JSON200.Id
}
