package service

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sampleOfClients is a sample shaped like the seeded clients: every email
// is client<n>@example.test, first and last names come from short lists
// (so "elena" and "bernard" are each common, "elena bernard" rare), and a
// company in eight holds "cool".
func sampleOfClients(rows int) *searchSample {
	first := []string{"elena", "zoé", "lucas", "hugo", "léa", "marc", "inès", "paul", "anne", "nina"}
	last := []string{"bernard", "martin", "petit", "durand", "leroy", "moreau", "simon", "laurent", "roux"}
	texts := make([]string, rows)
	for i := range texts {
		company := "atelier " + fmt.Sprint(i%97)
		if i%8 == 0 {
			company = "cool startup"
		}
		texts[i] = fmt.Sprintf("%s %s\n%s\nclient%d@example.test", first[i%len(first)], last[(i/len(first))%len(last)]+fmt.Sprint(i%13), company, i)
	}
	return newSearchSample(texts, 50*float64(rows))
}

func TestSearchPlans(t *testing.T) {
	sample := sampleOfClients(searchSampleRows)
	for _, c := range []struct {
		term string
		want searchPlan
	}{
		// Common enough to fill a page from the rows tested in order.
		{"bernard", searchPlan{inOrder: true, probe: "%ber%"}},
		{"cool", searchPlan{inOrder: true, probe: "%coo%"}},
		// Rare: straight to the index, and not with the trigrams every
		// email holds ("cli", "lie", "ien", "ent").
		{"client1234", searchPlan{probe: "%1234%"}},
		// Rare, though each word is common: one trigram of each word.
		{"elena bernard3", searchPlan{probe: "%ele%rd3%"}},
		// Held by no row of the sample.
		{"zzzz", searchPlan{probe: "%zzz%"}},
		// Upper-case ASCII is sent as it is: PostgreSQL lowers it.
		{"CLIENT1234", searchPlan{probe: "%1234%"}},
		// No trigram: the rows in order, then the index with the whole term.
		{"a.b", searchPlan{inOrder: true, probe: "%a.b%"}},
		{"5%_", searchPlan{inOrder: true, probe: `%5\%\_%`}},
		// A character whose lowering depends on its neighbours: the whole term.
		{"ΣΑΣ client1234", searchPlan{inOrder: true, probe: "%ΣΑΣ client1234%"}},
		{"CLI\u0307ENT1234", searchPlan{inOrder: true, probe: "%CLI\u0307ENT1234%"}},
	} {
		got := sample.plan(c.term, 21, 21*searchScanRows)
		if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(searchPlan{})); diff != "" {
			t.Errorf("plan(%q) (-want +got):\n%s", c.term, diff)
		}
	}
	// With no rows sampled, every trigram looks rare: the whole term.
	if got := newSearchSample(nil, 0).plan("bernard", 21, 4200); got != fullProbe("bernard") {
		t.Errorf("empty sample: %+v", got)
	}
}

// matchesNear places the sampled rows in the name and company orders and
// counts the matches among those the rows tested would cover.
func TestSearchSampleFindsWhereMatchesLie(t *testing.T) {
	sample := sampleOfClients(searchSampleRows)
	cool, elena := "cool startup", "elena bernard0"
	for _, c := range []struct {
		sort  int
		after *string
		term  string
		want  bool
	}{
		// "anne" leads the name order; "elena" comes after 400 sampled
		// rows (20,000 clients), far past the 4,200 rows tested.
		{byFullName, nil, "anne", true},
		{byFullName, nil, "elena", false},
		{byFullName, &elena, "elena", true},
		// "cool startup" sorts after every "atelier".
		{byCompanyName, nil, "cool", false},
		{byCompanyName, &cool, "cool", true},
		{byCompanyName, nil, "atelier", true},
		// The cursor's key is lowered as the sample's keys are.
		{byCompanyName, ptrTo("COOL STARTUP"), "cool", true},
		// Held by no row: never near.
		{byFullName, nil, "zzzz", false},
	} {
		if got := sample.matchesNear(c.sort, c.after, c.term, 21, 21*searchScanRows); got != c.want {
			t.Errorf("matchesNear(%d, %v, %q) = %v, want %v", c.sort, c.after, c.term, got, c.want)
		}
	}
	// An empty sample knows nothing: the rows in order, as without one.
	if !newSearchSample(nil, 0).matchesNear(byFullName, nil, "elena", 21, 4200) {
		t.Error("an empty sample says the matches are far")
	}
}

func ptrTo[T any](v T) *T { return &v }

// Whatever the term, the probe is the whole term or parts of it in order
// that do not overlap, so every row holding the term matches the probe.
func FuzzSearchPlan(f *testing.F) {
	for _, s := range []string{"client1234", "elena bernard3", "zzzz", "a.b", "ΣΑΣ", "ééé", "x%y_z\\", "aaaaaaa", "aaa aaa", "", "\xffé1234", "a\x00bcd"} {
		f.Add(s)
	}
	sample := sampleOfClients(500)
	f.Fuzz(func(t *testing.T, term string) {
		plan := sample.plan(term, 21, 4200)
		if plan == fullProbe(term) {
			return
		}
		if !strings.HasPrefix(plan.probe, "%") || !strings.HasSuffix(plan.probe, "%") || len(plan.probe) < 5 {
			t.Fatalf("plan(%q): probe %q", term, plan.probe)
		}
		rest := term
		for _, part := range strings.Split(plan.probe[1:len(plan.probe)-1], "%") {
			i := strings.Index(rest, part)
			if part == "" || i < 0 || strings.ContainsAny(part, `_\`) {
				t.Fatalf("plan(%q): probe %q: part %q is not next in the term", term, plan.probe, part)
			}
			rest = rest[i+len(part):]
		}
	})
}

// The longest term a search takes (200 characters), of trigrams no sampled
// row holds, each of which narrows the estimate further.
func BenchmarkSearchPlanOfALongTerm(b *testing.B) {
	sample := sampleOfClients(searchSampleRows)
	term := strings.Repeat("qxjwvkzyfh", 20)
	for b.Loop() {
		sample.plan(term, 21, 4200)
	}
}

// A search that finds the sample old plans with it and does not wait for
// the next one; the first search, which has none, waits for its read.
func TestSearchSamplerRenewsInTheBackground(t *testing.T) {
	old, fresh := sampleOfClients(10), sampleOfClients(20)
	release := make(chan struct{})
	reads := make(chan struct{}, 2)
	sampler := searchSampler{read: func(ctx context.Context) (*searchSample, error) {
		reads <- struct{}{}
		if len(reads) == 2 {
			<-release
			return fresh, nil
		}
		return old, nil
	}}
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

	if got := sampler.current(t.Context(), start); got != old {
		t.Fatalf("first search: got %p, want the sample it read (%p)", got, old)
	}
	if got := sampler.current(t.Context(), start.Add(time.Minute)); got != old || len(reads) != 1 {
		t.Fatalf("a young sample: got %p after %d reads, want %p after 1", got, len(reads), old)
	}
	// The read below blocks until release: a search that waited for it
	// would not answer.
	later := start.Add(searchSampleAge + time.Second)
	answer := make(chan *searchSample, 1)
	go func() { answer <- sampler.current(t.Context(), later) }()
	select {
	case got := <-answer:
		if got != old {
			t.Fatalf("an old sample: got %p, want the old one (%p) while the next is read", got, old)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the search waits for the sample's renewal")
	}
	// One renewal at a time: a search meanwhile starts no other read.
	if got := sampler.current(t.Context(), later); got != old {
		t.Fatalf("during the renewal: got %p, want the old one", got)
	}
	close(release)
	for sampler.reading.Load() {
		runtime.Gosched()
	}
	if got := sampler.current(t.Context(), later); got != fresh {
		t.Fatalf("after the renewal: got %p, want the fresh sample (%p)", got, fresh)
	}
	if len(reads) != 2 {
		t.Fatalf("%d reads, want 2", len(reads))
	}
}
