package handlers

import (
	"bytes"
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/valyala/bytebufferpool"
)

// PageCache keeps the compressed HTML of signed-in pages, per session and
// address, and serves a page again only while the database has not changed
// since it was rendered (db.DB.Version) and for at most TTL, so that a
// label that depends on the clock ("2 min ago", "stale") is never older
// than that. Any committed write anywhere makes every entry old: the cache
// can only skip work, never show what the database no longer holds.
//
// A nil *PageCache caches nothing.
type PageCache struct {
	ttl      time.Duration
	maxBytes int

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     list.List // front: most recently used *cachedPage
	bytes   int
	// renders in progress, by key: a request that misses while the same
	// page is being rendered for the same data version waits for that
	// render instead of starting another. Without this, a page asked for
	// many times a second is rendered by every request that arrives during
	// its render, each one slowing the others, whenever its entry expires.
	rendering map[string]*pageRender

	// gzip writers are reused: a writer's state is larger than most pages.
	writers sync.Pool

	hits, misses atomic.Uint64
}

// Stats returns how many pages were served from the cache and how many
// were rendered while it was asked.
func (pc *PageCache) Stats() (hits, misses uint64) { return pc.hits.Load(), pc.misses.Load() }

type cachedPage struct {
	key     string
	version uint64
	at      time.Time
	header  [][2]string // response headers to repeat
	body    []byte      // gzip
}

// NewPageCache returns a cache holding at most maxBytes of compressed pages,
// each served for at most ttl.
func NewPageCache(ttl time.Duration, maxBytes int) *PageCache {
	pc := &PageCache{ttl: ttl, maxBytes: maxBytes, entries: map[string]*list.Element{}, rendering: map[string]*pageRender{}}
	pc.writers.New = func() any {
		// The default level, not the best speed the compress middleware
		// uses: a kept page is compressed once and sent many times. For a
		// queue page it costs about 0.05 ms more per render and sends 8 %
		// fewer bytes, which a browser also unpacks faster (longer matches,
		// fewer symbols): BenchmarkKeptPageGzip.
		zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
		return zw
	}
	return pc
}

// pageRender is one render of a page that other requests for it may wait on.
type pageRender struct {
	key     string
	version uint64
	done    chan struct{} // closed by finish
	page    *cachedPage   // set before done is closed; nil: not kept
}

// lookup returns the page for key when it is held for version and younger
// than the TTL. Otherwise it returns the render of that page already under
// way for the same version, to wait on (wait), or registers the caller's
// own render (lead), which the caller must finish.
func (pc *PageCache) lookup(key string, version uint64, now time.Time) (p *cachedPage, wait, lead *pageRender) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if el, ok := pc.entries[key]; ok {
		p := el.Value.(*cachedPage)
		if p.version == version && now.Sub(p.at) < pc.ttl {
			pc.lru.MoveToFront(el)
			pc.hits.Add(1)
			return p, nil, nil
		}
		pc.remove(el)
	}
	if r, ok := pc.rendering[key]; ok && r.version == version {
		return nil, r, nil
	}
	pc.misses.Add(1)
	r := &pageRender{key: key, version: version, done: make(chan struct{})}
	pc.rendering[key] = r // a render for an older version is no longer waited on
	return nil, nil, r
}

// await waits for r and returns its page, or nil when it was not kept (the
// caller renders the page itself) or ctx ended first.
func (pc *PageCache) await(ctx context.Context, r *pageRender) *cachedPage {
	select {
	case <-r.done:
		if r.page != nil {
			pc.hits.Add(1)
		}
		return r.page
	case <-ctx.Done():
		return nil
	}
}

// finish ends r, keeping p (nil: nothing kept) for those waiting on it.
func (pc *PageCache) finish(r *pageRender, p *cachedPage) {
	if p != nil {
		pc.put(p)
	}
	pc.mu.Lock()
	if pc.rendering[r.key] == r {
		delete(pc.rendering, r.key)
	}
	pc.mu.Unlock()
	r.page = p
	close(r.done)
}

func (pc *PageCache) put(p *cachedPage) {
	size := len(p.body) + len(p.key)
	if size > pc.maxBytes/8 {
		return // one page must not push out all the others
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if el, ok := pc.entries[p.key]; ok {
		pc.remove(el)
	}
	pc.entries[p.key] = pc.lru.PushFront(p)
	pc.bytes += size
	for pc.bytes > pc.maxBytes {
		pc.remove(pc.lru.Back())
	}
}

func (pc *PageCache) remove(el *list.Element) {
	p := pc.lru.Remove(el).(*cachedPage)
	delete(pc.entries, p.key)
	pc.bytes -= len(p.body) + len(p.key)
}

// cacheableLocal marks a response that render produced whole and well (200,
// HTML): only those are kept.
const cacheableLocal = "paydesk.cacheable"

// Headers a page answer carries that are the same on every answer to the
// same request; request ids, cookies and lengths are not repeated.
var repeatedHeaders = []string{fiber.HeaderContentType, fiber.HeaderVary, "HX-Push-Url", "HX-Replace-Url", "HX-Trigger", "HX-Retarget", "HX-Reswap"}

// cachePages serves a signed-in GET page from the page cache when the
// database has not changed since it was rendered, and keeps what it renders
// otherwise. It runs after the session is loaded, so a hit is still a
// signed-in, unexpired session's own page.
func (s *Server) cachePages(c *fiber.Ctx) error {
	a := auth(c)
	if s.Pages == nil || c.Method() != fiber.MethodGet || a.session == nil || a.session.ID == "" ||
		!bytes.Contains(c.Request().Header.Peek(fiber.HeaderAcceptEncoding), []byte("gzip")) {
		return c.Next()
	}
	key := a.session.ID + "\x00" + string(c.Request().Header.RequestURI()) + "\x00" +
		c.Get("HX-Request") + "\x00" + c.Get("HX-Boosted") + "\x00" + c.Get("HX-History-Restore-Request")
	version, now := s.DB.Version(), time.Now()
	p, wait, lead := s.Pages.lookup(key, version, now)
	if wait != nil {
		p = s.Pages.await(c.UserContext(), wait)
	}
	if p != nil {
		for _, h := range p.header {
			c.Set(h[0], h[1])
		}
		c.Set(fiber.HeaderContentEncoding, "gzip")
		c.Vary(fiber.HeaderAcceptEncoding)
		c.Response().SetBodyRaw(p.body) // never written to: shared safely
		return nil
	}
	if lead == nil { // the render waited on was not kept: render alone
		return c.Next()
	}
	var kept *cachedPage
	defer func() { s.Pages.finish(lead, kept) }() // also on a panic: nobody waits forever
	if err := c.Next(); err != nil {
		return err
	}
	resp := c.Response()
	if ok, _ := c.Locals(cacheableLocal).(bool); !ok || resp.StatusCode() != fiber.StatusOK ||
		len(resp.Header.Peek(fiber.HeaderSetCookie)) > 0 || len(resp.Header.ContentEncoding()) > 0 {
		return nil
	}
	gz := bytebufferpool.Get()
	defer bytebufferpool.Put(gz)
	zw := s.Pages.writers.Get().(*gzip.Writer)
	defer s.Pages.writers.Put(zw)
	zw.Reset(gz)
	if _, err := zw.Write(resp.Body()); err != nil || zw.Close() != nil {
		return nil // the compress middleware compresses it instead
	}
	kept = &cachedPage{key: key, version: version, at: now, body: append([]byte(nil), gz.B...)}
	for _, h := range repeatedHeaders {
		if v := resp.Header.Peek(h); len(v) > 0 {
			kept.header = append(kept.header, [2]string{h, string(v)})
		}
	}
	c.Set(fiber.HeaderContentEncoding, "gzip")
	c.Vary(fiber.HeaderAcceptEncoding)
	resp.SetBodyRaw(kept.body)
	return nil
}
