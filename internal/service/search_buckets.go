package service

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"epicevents/internal/db"
)

// The name and company orders are cut into buckets of clients, and the
// database notes which pieces of search text each bucket holds
// (sql/migrations/00012_client_search_buckets.sql), so that a search in
// those orders skips the buckets that cannot hold its term. The buckets
// are cut once the table has clients enough, and again as it grows: a
// bucket that grows only costs a search more rows to test.
const (
	// SearchBucketRows is the clients of a bucket when it is cut: a
	// search that skips to a bucket tests up to this many rows there, and
	// a write's pieces are noted per bucket (a few thousand buckets at a
	// million clients).
	SearchBucketRows = 500
	// A rebuild comes when the table holds searchBucketGrowth times the
	// clients the buckets were cut from.
	searchBucketGrowth = 1.25
)

// RebuildSearchBuckets cuts both orders into buckets of rowsPerBucket
// clients and notes their pieces, while searches read the buckets they
// replace and client writes go on (they wait only for the switch, which
// notes the clients written meanwhile).
// It returns false, doing nothing, while another rebuild runs.
func (s *ClientService) RebuildSearchBuckets(ctx context.Context, rowsPerBucket int) (bool, error) {
	generation, err := s.Store.BeginClientSearchBuckets(ctx, int32(rowsPerBucket))
	if err != nil || generation == 0 {
		return false, fromDB(err)
	}
	failed := func(step string, err error) (bool, error) {
		// Writes stop being listed for it; should this fail too (a lost
		// database), the next rebuild takes over after an hour.
		abandon, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Store.AbandonClientSearchBuckets(abandon, generation)
		return false, fmt.Errorf("rebuild the search buckets: %s: %w", step, fromDB(err))
	}
	if err := s.Store.WaitForClientWriters(ctx); err != nil {
		return failed("wait for client writes", err)
	}
	if err := s.Store.FillClientSearchBuckets(ctx, generation); err != nil {
		return failed("note every client's pieces", err)
	}
	finished, err := s.Store.FinishClientSearchBuckets(ctx, generation)
	if err != nil {
		return failed("finish", err)
	}
	if finished {
		if err := s.Store.DropReplacedClientSearchBuckets(ctx); err != nil {
			// The new generation serves; the next rebuild drops the old.
			return true, fmt.Errorf("rebuild the search buckets: drop the replaced ones: %w", fromDB(err))
		}
	}
	return finished, nil
}

// MaintainSearchBuckets rebuilds the buckets when there are none yet and
// the table holds two buckets' worth of clients, or when it has grown by
// searchBucketGrowth since they were cut. It says whether it rebuilt.
func (s *ClientService) MaintainSearchBuckets(ctx context.Context) (bool, error) {
	state, err := s.Store.ClientSearchState(ctx)
	if err != nil {
		return false, fromDB(err)
	}
	if state.Building != nil {
		return false, nil
	}
	rows, err := s.Store.EstimateClientRows(ctx)
	if err != nil {
		return false, fromDB(err)
	}
	due := rows >= 2*SearchBucketRows
	if state.Current != nil {
		due = rows >= searchBucketGrowth*float64(max(state.CurrentRows, SearchBucketRows))
	}
	if !due {
		return false, nil
	}
	return s.RebuildSearchBuckets(ctx, SearchBucketRows)
}

// searchInBuckets is the first step of a search by name or company over
// every client: the rows in order, in the buckets that may hold the term.
// No row means that it tested scan rows first, or found no match: the
// trigram index then answers.
func (s *ClientService) searchInBuckets(ctx context.Context, lq listQuery, term string, afterKey *string, afterID uuid.UUID) ([]db.ClientDetail, error) {
	limit := lq.fetchLimit()
	scan := limit * searchScanRows
	if lq.sort == "company_name" {
		return s.Store.ListClientsInSearchBucketsByCompanyName(ctx, db.ListClientsInSearchBucketsByCompanyNameParams{
			Term: term, AfterCompanyName: afterKey, AfterID: afterID, RowLimit: limit, ScanLimit: scan})
	}
	return s.Store.ListClientsInSearchBucketsByFullName(ctx, db.ListClientsInSearchBucketsByFullNameParams{
		Term: term, AfterFullName: afterKey, AfterID: afterID, RowLimit: limit, ScanLimit: scan})
}
