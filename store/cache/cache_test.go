package cache_test

import (
	"context"
	"path/filepath"
	"testing"

	"vouch/store"
	"vouch/store/cache"
	"vouch/store/sqlite"
	"vouch/store/storetest"
)

// TestConformance runs the whole store suite through the cache: caching
// must not change what any method returns.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.OpenUncached(context.Background(), filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		c := cache.New(s)
		t.Cleanup(func() { c.Close() })
		return c
	})
}
