// Package pgnotify wakes /sync long-polls across several `vouch serve`
// processes that share one PostgreSQL database, through LISTEN/NOTIFY. A
// [Notifier] implements server.Notifier: Notify wakes the local
// subscribers at once and publishes the user IDs on the PostgreSQL channel
// [Channel]; every other process LISTENs there and wakes its own
// subscribers.
//
// A notification only says "look again": the woken /sync reads the store,
// so a lost or duplicated notification costs latency, never correctness.
// When the listening connection breaks, every local subscriber is woken (a
// notification may have been missed) and the listener reconnects with
// backoff. The package imports only pgx and the in-process fan-out
// (internal/wakeup) it shares with the single-process notifier; it is not a
// message bus and stores nothing.
package pgnotify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"vouch/internal/wakeup"
)

// Channel is the PostgreSQL notification channel.
const Channel = "vouch_sync"

// livenessInterval is how long the listener waits for a notification
// before it checks its connection with a ping: a connection that died
// silently (a dropped NAT entry, a failed-over server) would otherwise lose
// notifications until TCP keepalive notices, minutes later.
const livenessInterval = 30 * time.Second

// maxPayload is the most bytes of one NOTIFY payload (PostgreSQL's limit is
// 8000 by default).
const maxPayload = 7000

// Sentinel errors.
var (
	// ErrDatabaseURL reports a database URL that pgx cannot parse.
	ErrDatabaseURL = errors.New("pgnotify: invalid database URL")
	// ErrListen reports that the first LISTEN failed.
	ErrListen = errors.New("pgnotify: listen")
)

// Notifier is a server.Notifier backed by PostgreSQL LISTEN/NOTIFY. Create
// it with [New] and Close it after the HTTP server stopped.
type Notifier struct {
	id  string // this process's instance ID, to skip our own notifications
	cfg *pgx.ConnConfig
	log *slog.Logger

	local wakeup.Set // this process's subscribers

	mu      sync.Mutex
	pending map[string]struct{}
	kick    chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	liveness time.Duration
	lost     atomic.Int64 // listener connections lost, for tests
}

// New connects to databaseURL, LISTENs on [Channel] and starts the listener
// and the sender. log receives connection failures (never user data).
func New(ctx context.Context, databaseURL string, log *slog.Logger) (*Notifier, error) {
	return newNotifier(ctx, databaseURL, log, livenessInterval)
}

func newNotifier(ctx context.Context, databaseURL string, log *slog.Logger, liveness time.Duration) (*Notifier, error) {
	if log == nil {
		return nil, errors.New("pgnotify: nil logger")
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDatabaseURL, err)
	}
	id := make([]byte, 8)
	rand.Read(id) //nolint:errcheck // crypto/rand.Read never fails
	n := &Notifier{
		id: hex.EncodeToString(id), cfg: cfg, log: log,
		pending:  map[string]struct{}{},
		kick:     make(chan struct{}, 1),
		liveness: liveness,
	}
	conn, err := n.listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrListen, err)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(2)
	go n.listener(conn)
	go n.sender()
	return n, nil
}

// Close stops the listener and the sender (after one last attempt to send
// what is pending) and closes their connections.
func (n *Notifier) Close() error {
	n.cancel()
	n.wg.Wait()
	return nil
}

// Notify wakes the local subscribers of userIDs now and queues the IDs for
// the other processes. It never blocks on the database.
func (n *Notifier) Notify(userIDs ...string) {
	n.local.Wake(userIDs...)
	n.mu.Lock()
	for _, u := range userIDs {
		// A newline separates IDs in the payload; Matrix user IDs cannot
		// contain one, and an ID too long for a payload cannot be sent.
		if !strings.Contains(u, "\n") && len(u)+len(n.id)+1 <= maxPayload {
			n.pending[u] = struct{}{}
		}
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Subscribe returns a channel that receives a value after a later Notify for
// userID in any process, and the function that unsubscribes.
func (n *Notifier) Subscribe(userID string) (<-chan struct{}, func()) {
	return n.local.Subscribe(userID)
}

// connect opens a connection named for its role in pg_stat_activity.
func (n *Notifier) connect(ctx context.Context, role string) (*pgx.Conn, error) {
	cfg := n.cfg.Copy()
	cfg.RuntimeParams["application_name"] = "vouch pgnotify " + role
	return pgx.ConnectConfig(ctx, cfg)
}

// listen opens the listening connection.
func (n *Notifier) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := n.connect(ctx, "listener")
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// listener delivers other processes' notifications until Close,
// reconnecting when the connection breaks.
func (n *Notifier) listener(conn *pgx.Conn) {
	defer n.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		for conn == nil {
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(backoff):
			}
			c, err := n.listen(n.ctx)
			if err != nil {
				backoff = min(2*backoff, 5*time.Second)
				n.log.Warn("pgnotify: reconnecting listener", "err", err)
				continue
			}
			conn, backoff = c, 100*time.Millisecond
			// Changes made while we were not listening were not announced.
			n.local.WakeAll()
		}
		msg, err := n.wait(conn)
		if err != nil {
			n.lost.Add(1)
			conn.Close(context.Background())
			conn = nil
			if n.ctx.Err() != nil {
				return
			}
			n.log.Warn("pgnotify: listener connection lost", "err", err)
			n.local.WakeAll()
			continue
		}
		n.deliver(msg.Payload)
	}
}

// wait returns the next notification. When none comes for the liveness
// interval it pings the server and, if the connection still works, goes on
// waiting; a read cut short by the timeout leaves the connection usable.
func (n *Notifier) wait(conn *pgx.Conn) (*pgconn.Notification, error) {
	for {
		ctx, cancel := context.WithTimeout(n.ctx, n.liveness)
		msg, err := conn.WaitForNotification(ctx)
		cancel()
		if err == nil || n.ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
			return msg, err
		}
		ctx, cancel = context.WithTimeout(n.ctx, 5*time.Second)
		err = conn.Ping(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
	}
}

// deliver wakes the local subscribers named in a payload from another
// process: "<instance ID>\n<user ID>\n<user ID>…".
func (n *Notifier) deliver(payload string) {
	from, users, _ := strings.Cut(payload, "\n")
	if from == n.id || users == "" {
		return // ours: woken locally already
	}
	n.local.Wake(strings.Split(users, "\n")...)
}

// sender publishes queued user IDs until Close.
func (n *Notifier) sender() {
	defer n.wg.Done()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		select {
		case <-n.kick:
		case <-n.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			n.flush(ctx, &conn)
			cancel()
			return
		}
		n.flush(n.ctx, &conn)
	}
}

// flush sends everything pending, in payloads of at most maxPayload bytes.
// After a failure it reconnects and retries once; then the IDs are dropped
// (their /sync wakes at its timeout instead).
func (n *Notifier) flush(ctx context.Context, conn **pgx.Conn) {
	n.mu.Lock()
	users := n.pending
	n.pending = map[string]struct{}{}
	n.mu.Unlock()
	if len(users) == 0 {
		return
	}
	for _, p := range payloads(n.id, users) {
		var err error
		for attempt := 0; attempt < 2; attempt++ {
			if *conn == nil {
				if *conn, err = n.connect(ctx, "sender"); err != nil {
					continue
				}
			}
			if _, err = (*conn).Exec(ctx, "SELECT pg_notify($1, $2)", Channel, p); err == nil {
				break
			}
			(*conn).Close(context.Background())
			*conn = nil
		}
		if err != nil {
			n.log.Warn("pgnotify: notify failed", "err", err)
		}
	}
}

// payloads splits users into NOTIFY payloads prefixed by the instance ID.
func payloads(id string, users map[string]struct{}) []string {
	var out []string
	var b strings.Builder
	for u := range users {
		if b.Len() > 0 && b.Len()+1+len(u) > maxPayload {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(id)
		}
		b.WriteByte('\n')
		b.WriteString(u)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}
