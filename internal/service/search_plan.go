package service

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// A client search has two ways to its page (sql/queries/clients.sql): test
// the next rows in the list's order, which is fast when matches are common
// there, or ask the trigram index, which costs one posting list per trigram
// of the pattern plus a visit of every row the lists leave. Neither cost
// shows in PostgreSQL's estimates: a trigram that every email holds ("cli"
// of client12345@…) makes the index read 200,000 entries to narrow nothing,
// and "elena bernard" is rare though each of its words is common. So the
// service keeps a random sample of the clients' search texts, and from it
// estimates how many rows hold a term and which of its trigrams to ask the
// index for. The sample chooses a plan, never an answer: every plan returns
// the rows that hold the term, so a stale sample only costs time.

const (
	// searchSampleRows is the sample's size: enough to tell a term held
	// by 1 row in 500 (which the rows tested in order would not reach)
	// from one held by 1 in 50, and a few megabytes of memory.
	searchSampleRows = 4000
	// A sample is renewed by the first search after searchSampleAge, or
	// after searchSampleRetry when it could not be read.
	searchSampleAge   = 10 * time.Minute
	searchSampleRetry = time.Minute
	// A renewal in the background gives up after searchSampleTimeout.
	searchSampleTimeout = 10 * time.Second

	// The cost of the index's work: per entry of a posting list read, and
	// per row it leaves to visit (measured on the seeded data: a visit
	// costs some 200 entries).
	costPerEntry = 20 * time.Nanosecond
	costPerVisit = 4 * time.Microsecond

	// probeTrigrams bounds the trigrams a probe is chosen from one by one:
	// past a few, each narrows nothing the others did not, and the choice
	// costs the square of the term's length per trigram.
	probeTrigrams = 8
)

// searchSample holds, for each trigram of a sample of clients, the sampled
// rows whose search text holds it.
type searchSample struct {
	rows     int
	total    float64 // the table's rows, estimated (at least those sampled)
	postings map[string][]uint16
	texts    []string
	// keys holds each sampled row's lowered key in each bucketed sort (a
	// line of its search text), and byKey the rows in that order.
	keys  [2][]string
	byKey [2][]uint16
}

// Sorts whose rows the sample can place in order: the search text's
// first line is the name, its second the company.
const (
	byFullName = iota
	byCompanyName
)

// newSearchSample indexes texts (lowered, as the search column holds them)
// out of total rows.
func newSearchSample(texts []string, total float64) *searchSample {
	s := &searchSample{rows: len(texts), total: max(total, float64(len(texts))), postings: map[string][]uint16{}, texts: texts}
	for i, text := range texts {
		eachTrigram(text, func(t span) {
			// A key is a slice of the text: no copy.
			key := text[t.from:t.to]
			list := s.postings[key]
			// Rows come in order, so a row already listed is the last.
			if n := len(list); n == 0 || list[n-1] != uint16(i) {
				s.postings[key] = append(list, uint16(i))
			}
		})
	}
	for sort := range s.byKey {
		keys, rows := make([]string, len(texts)), make([]uint16, len(texts))
		for i, text := range texts {
			// A slice of the text: no copy.
			lines := strings.SplitN(text, "\n", sort+2)
			if sort < len(lines) {
				keys[i] = lines[sort]
			}
			rows[i] = uint16(i)
		}
		slices.SortStableFunc(rows, func(a, b uint16) int { return strings.Compare(keys[a], keys[b]) })
		s.keys[sort], s.byKey[sort] = keys, rows
	}
	return s
}

// matchesNear estimates whether the scan rows after the cursor (its key,
// nil for the start) in a bucketed sort hold at least twice fetch rows
// holding term, from the sampled rows that fall there. Go's order of the
// lowered keys stands in for the database's collation: close enough to
// choose a plan, which is all the sample does.
func (s *searchSample) matchesNear(sort int, after *string, term string, fetch, scan int) bool {
	if s.rows == 0 {
		return true
	}
	order := s.byKey[sort]
	from := 0
	if after != nil {
		cursor := strings.ToLower(*after)
		from, _ = slices.BinarySearchFunc(order, cursor, func(row uint16, key string) int { return strings.Compare(s.keys[sort][row], key) })
	}
	scale := s.total / float64(s.rows)
	window := order[from:min(len(order), from+int(math.Ceil(float64(scan)/scale)))]
	needle := strings.ToLower(term)
	held := 0
	for _, row := range window {
		if strings.Contains(s.texts[row], needle) {
			held++
		}
	}
	return float64(held)*scale >= 2*float64(fetch)
}

// span is a run of text, in bytes.
type span struct{ from, to int }

// isWordRune is what pg_trgm takes trigrams from: a LIKE pattern's
// trigrams are those of its words (runs of letters and digits) between
// wildcards, and a row's are those of its words.
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// eachTrigram calls fn with every trigram inside a word, in order.
func eachTrigram(text string, fn func(span)) {
	// The starts of the word's last three characters.
	var starts [3]int
	word := 0
	for i, r := range text {
		if !isWordRune(r) {
			word = 0
			continue
		}
		starts[0], starts[1], starts[2] = starts[1], starts[2], i
		if word++; word >= 3 {
			fn(span{starts[0], i + utf8.RuneLen(r)})
		}
	}
}

// searchPlan is how a search reads its page.
type searchPlan struct {
	// inOrder: test the next rows in the list's order first.
	inOrder bool
	// probe is the LIKE pattern the trigram index is asked with.
	probe string
}

// fullProbe asks the index with every trigram of the term, as a plain
// LIKE does: the plan without a sample.
func fullProbe(term string) searchPlan {
	return searchPlan{inOrder: true, probe: "%" + likePattern(term) + "%"}
}

// plan chooses how to read a page of fetch rows when the rows tested in
// order are scan.
func (s *searchSample) plan(term string, fetch, scan int) searchPlan {
	plan := fullProbe(term)
	// The probe is sent as parts of the term, lowered by PostgreSQL; a part
	// lowers to the same text inside the term as on its own only when no
	// character's lowering depends on its neighbours (ICU's final sigma, a
	// Turkish I before a combining dot) or yields two: so only for terms
	// whose other-than-ASCII characters are already lower case and are not
	// combining marks. Lowering such a term here moves no byte.
	for _, r := range term {
		if r >= utf8.RuneSelf && (unicode.ToLower(r) != r || unicode.Is(unicode.M, r)) {
			return plan
		}
	}
	lowered := strings.ToLower(term)
	if len(lowered) != len(term) {
		// Not UTF-8 (which the HTTP layer refuses): the plain pattern.
		return plan
	}
	var trigrams []span
	eachTrigram(lowered, func(t span) { trigrams = append(trigrams, t) })
	if len(trigrams) == 0 || s.rows == 0 {
		// No trigram: the index cannot narrow the rows.
		return plan
	}
	// keysOf lists the distinct trigrams inside the parts (the trigrams
	// come in order of their starts).
	keysOf := func(parts []span) []string {
		var keys []string
		for _, p := range parts {
			first, _ := slices.BinarySearchFunc(trigrams, p.from, func(t span, from int) int { return t.from - from })
			for _, t := range trigrams[first:] {
				if t.from >= p.to {
					break
				}
				if key := lowered[t.from:t.to]; t.to <= p.to && !slices.Contains(keys, key) {
					keys = append(keys, key)
				}
			}
		}
		return keys
	}
	// Rows holding every trigram of the term bound those holding it.
	held := float64(len(s.intersect(keysOf([]span{{0, len(lowered)}})))) / float64(s.rows)
	plan.inOrder = held*float64(scan) >= 2*float64(fetch)

	// Add the trigram that makes the probe cheapest, while one does.
	var chosen []span
	best := time.Duration(1<<63 - 1)
	for len(chosen) < probeTrigrams {
		pick := -1
		for i, t := range trigrams {
			if slices.Contains(chosen, t) {
				continue
			}
			if cost := s.cost(keysOf(parts(append(slices.Clone(chosen), t)))); cost < best {
				best, pick = cost, i
			}
		}
		if pick < 0 {
			break
		}
		chosen = append(chosen, trigrams[pick])
	}
	var probe strings.Builder
	probe.WriteByte('%')
	for _, p := range parts(chosen) {
		// A part is letters and digits: nothing to escape.
		probe.WriteString(term[p.from:p.to])
		probe.WriteByte('%')
	}
	plan.probe = probe.String()
	return plan
}

// parts turns chosen trigrams into the parts of the term they cover, in
// order: overlapping trigrams join one part, since a pattern's parts match
// text that does not overlap.
func parts(chosen []span) []span {
	slices.SortFunc(chosen, func(a, b span) int { return a.from - b.from })
	var out []span
	for _, t := range chosen {
		if n := len(out); n > 0 && t.from < out[n-1].to {
			out[n-1].to = t.to
			continue
		}
		out = append(out, t)
	}
	return out
}

// cost estimates the index's work for a probe with these trigrams: their
// posting lists, and a visit of each row holding them all.
func (s *searchSample) cost(trigrams []string) time.Duration {
	scale := s.total / float64(s.rows)
	entries := 0
	for _, t := range trigrams {
		entries += len(s.postings[t])
	}
	// When no sampled row holds them all, as if the trigrams were held
	// independently: rows may still hold them, fewer as trigrams are added.
	visits := float64(len(s.intersect(trigrams)))
	if visits == 0 {
		visits = float64(s.rows)
		for _, t := range trigrams {
			visits *= (float64(len(s.postings[t])) + 0.5) / float64(s.rows+1)
		}
	}
	return time.Duration(scale * (float64(entries)*float64(costPerEntry) + visits*float64(costPerVisit)))
}

// intersect lists the sampled rows holding every trigram.
func (s *searchSample) intersect(trigrams []string) []uint16 {
	lists := make([][]uint16, len(trigrams))
	for i, t := range trigrams {
		lists[i] = s.postings[t]
	}
	slices.SortFunc(lists, func(a, b []uint16) int { return len(a) - len(b) })
	out := slices.Clone(lists[0])
	for _, list := range lists[1:] {
		out = slices.DeleteFunc(out, func(row uint16) bool {
			_, found := slices.BinarySearch(list, row)
			return !found
		})
	}
	return out
}

// searchSampler keeps the current sample. The first search reads one and
// waits for it; when it is old, the search that finds it so starts reading
// the next one in the background and plans with the old one, so no search
// waits for a renewal.
type searchSampler struct {
	read    func(context.Context) (*searchSample, error)
	mu      sync.Mutex
	sample  *searchSample
	expires time.Time
	reading atomic.Bool
}

// current returns the sample to plan with, nil when there is none yet and
// it could not be read.
func (r *searchSampler) current(ctx context.Context, now time.Time) *searchSample {
	r.mu.Lock()
	sample, expires := r.sample, r.expires
	r.mu.Unlock()
	if now.Before(expires) || !r.reading.CompareAndSwap(false, true) {
		return sample
	}
	if sample == nil {
		defer r.reading.Store(false)
		return r.renew(ctx, now)
	}
	go func() {
		defer r.reading.Store(false)
		// Not the request's context: the renewal outlives the request
		// that started it, and is not part of its work.
		ctx, cancel := context.WithTimeout(context.Background(), searchSampleTimeout)
		defer cancel()
		r.renew(ctx, now)
	}()
	return sample
}

// renew reads a sample and keeps it; when it cannot, it keeps the one it
// has and tries again after searchSampleRetry.
func (r *searchSampler) renew(ctx context.Context, now time.Time) *searchSample {
	fresh, err := r.read(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.expires = now.Add(searchSampleRetry)
		return r.sample
	}
	r.sample, r.expires = fresh, now.Add(searchSampleAge)
	return fresh
}

func readSearchSample(ctx context.Context, store *db.Store) (*searchSample, error) {
	total, err := store.EstimateClientRows(ctx)
	if err != nil {
		return nil, err
	}
	texts, err := store.SampleClientSearchText(ctx, db.SampleClientSearchTextParams{FromID: uuid.New(), RowLimit: searchSampleRows})
	if err != nil {
		return nil, err
	}
	return newSearchSample(texts, total), nil
}
