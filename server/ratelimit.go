package server

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateSpec is a parsed rate limit: Events per Per, with bursts up to Burst.
type RateSpec struct {
	Events int
	Per    time.Duration
	Burst  int
}

func (s RateSpec) String() string {
	unit := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour"}[s.Per]
	return fmt.Sprintf("%d/%s;burst=%d", s.Events, unit, s.Burst)
}

// ParseRate parses "100/minute", "10/second", "1000/hour", optionally with
// ";burst=N" (default: Events). "" and "off" mean no limit (nil, nil).
func ParseRate(s string) (*RateSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" || s == "none" {
		return nil, nil
	}
	bad := fmt.Errorf("rate limit %q: expected N/second, N/minute or N/hour, optionally ;burst=M (e.g. 100/minute;burst=20), or off", s)
	spec, burst, hasBurst := strings.Cut(s, ";")
	n, unit, ok := strings.Cut(spec, "/")
	events, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || events < 1 {
		return nil, bad
	}
	per := map[string]time.Duration{"second": time.Second, "s": time.Second, "minute": time.Minute, "min": time.Minute, "m": time.Minute, "hour": time.Hour, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return nil, bad
	}
	r := &RateSpec{Events: events, Per: per, Burst: events}
	if hasBurst {
		k, v, ok := strings.Cut(strings.TrimSpace(burst), "=")
		b, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || strings.TrimSpace(k) != "burst" || err != nil || b < 1 {
			return nil, bad
		}
		r.Burst = b
	}
	return r, nil
}

// limiterShards spreads clients over independently locked tables.
const limiterShards = 32

// A limiter is a token bucket per client with a bounded table: buckets that
// have refilled completely are forgotten, and a full table evicts before it
// grows, so a flood from many addresses costs bounded memory. Safe for
// concurrent use.
type limiter struct {
	spec   RateSpec
	rate   float64       // tokens per second
	full   time.Duration // time for an empty bucket to refill
	max    int           // buckets per shard
	seed   maphash.Seed
	shards [limiterShards]limiterShard
	now    func() time.Time // for tests
}

type limiterShard struct {
	mu        sync.Mutex
	buckets   map[string]*bucket // guarded by mu
	lastSweep time.Time          // guarded by mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns a limiter for spec holding at most maxClients buckets.
func newLimiter(spec RateSpec, maxClients int) *limiter {
	l := &limiter{spec: spec, rate: float64(spec.Events) / spec.Per.Seconds(), seed: maphash.MakeSeed(), now: time.Now}
	l.full = time.Duration(float64(spec.Burst) / l.rate * float64(time.Second))
	l.max = max(maxClients/limiterShards, 16)
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

// verdict is the outcome of one request against a bucket.
type verdict struct {
	ok         bool
	remaining  int
	retryAfter time.Duration // until one token is back (when !ok)
	reset      time.Duration // until the bucket is full again
}

// allow takes one token from client's bucket.
func (l *limiter) allow(client string) verdict {
	now := l.now()
	sh := &l.shards[maphash.String(l.seed, client)%limiterShards]
	sh.mu.Lock()
	b := sh.buckets[client]
	if b == nil {
		if len(sh.buckets) >= l.max {
			sh.evict(now, l.full, l.max)
		}
		b = &bucket{tokens: float64(l.spec.Burst), last: now}
		sh.buckets[client] = b
	}
	b.tokens = math.Min(float64(l.spec.Burst), b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	v := verdict{ok: b.tokens >= 1}
	if v.ok {
		b.tokens--
	} else {
		v.retryAfter = time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	v.remaining = int(b.tokens)
	v.reset = time.Duration((float64(l.spec.Burst) - b.tokens) / l.rate * float64(time.Second))
	sh.mu.Unlock()
	return v
}

// evict makes room in a full shard: first it drops buckets that have
// refilled (they hold no state worth keeping), at most once a second; if
// none did, it drops one arbitrary bucket. Caller holds sh.mu.
func (sh *limiterShard) evict(now time.Time, full time.Duration, max int) {
	if now.Sub(sh.lastSweep) >= time.Second {
		sh.lastSweep = now
		for k, b := range sh.buckets {
			if now.Sub(b.last) >= full {
				delete(sh.buckets, k)
			}
		}
	}
	for k := range sh.buckets {
		if len(sh.buckets) < max {
			return
		}
		delete(sh.buckets, k) // map order is random: an arbitrary victim
	}
}

// size returns the number of buckets held, for tests.
func (l *limiter) size() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].buckets)
		l.shards[i].mu.Unlock()
	}
	return n
}

// clientKey is the bucket key for a client address: the IPv4 address, or
// the /64 of an IPv6 address (one host usually owns a whole /64).
func clientKey(remoteAddr string) string {
	host, _ := splitHostPort(remoteAddr)
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// check applies l (nil: no limit) to r and sets the RateLimit headers. It
// answers 429 and returns false when the client is over the limit.
func (l *limiter) check(w http.ResponseWriter, r *http.Request, log *slog.Logger) bool {
	if l == nil {
		return true
	}
	v := l.allow(clientKey(r.RemoteAddr))
	h := w.Header()
	h["Ratelimit-Limit"] = []string{strconv.Itoa(l.spec.Burst)}
	h["Ratelimit-Remaining"] = []string{strconv.Itoa(v.remaining)}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(ceilSeconds(v.reset))}
	h["Ratelimit-Policy"] = []string{fmt.Sprintf("%d;w=%d;burst=%d", l.spec.Events, int(l.spec.Per.Seconds()), l.spec.Burst)}
	if v.ok {
		return true
	}
	h["Retry-After"] = []string{strconv.Itoa(ceilSeconds(v.retryAfter))}
	log.Warn("rate limit exceeded", "event", "rate_limited", "client", r.RemoteAddr,
		"request_id", requestID(r), "path", r.URL.Path, "limit", l.spec.String())
	writeError(w, http.StatusTooManyRequests, "Too Many Requests")
	return false
}

func ceilSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
