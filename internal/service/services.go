package service

// Services are every service of the API, built in one place, for serve
// and for the test harness alike.
type Services struct {
	Auth          *AuthService
	Collaborators *CollaboratorService
	Clients       *ClientService
	Contracts     *ContractService
	Events        *EventService
	Tokens        *TokenService
	Calendars     *CalendarService
	Idempotency   *IdempotencyService
	History       *HistoryService
	Feed          *FeedService
	Webhooks      *WebhookService
}

// Settings are what the services take beside their Deps.
type Settings struct {
	Tokens        TokenConfig
	Limits        LoginLimits
	Webhooks      WebhookConfig
	Feed          FeedConfig
	PublicBaseURL string
}

// NewServices builds every service on the same Deps.
func NewServices(d Deps, s Settings) *Services {
	return &Services{
		Auth:          NewAuthService(d, s.Tokens, s.Limits),
		Collaborators: NewCollaboratorService(d),
		Clients:       NewClientService(d),
		Contracts:     NewContractService(d),
		Events:        NewEventService(d),
		Tokens:        NewTokenService(d),
		Calendars:     NewCalendarService(d, s.PublicBaseURL),
		Idempotency:   NewIdempotencyService(d),
		History:       NewHistoryService(d),
		Feed:          NewFeedService(d, s.Feed),
		Webhooks:      NewWebhookService(d, s.Webhooks),
	}
}
