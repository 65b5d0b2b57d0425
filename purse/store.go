// SPDX-License-Identifier: Apache-2.0

package purse

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-pboc/pboc/journal"
)

// State is where a record is. Every state is written to the store before
// the card or the host is asked for the next step, so that a crash at any
// point leaves a record that says what may have happened.
type State string

// The states of a record.
const (
	// StateStarted: the operation began; nothing the card does moves money
	// yet (a load: the host may already have debited the reserve).
	StateStarted State = "started"
	// StateAuthorized: the host answered MAC2 (load, unload, online
	// unlock); the card command that moves the money is next.
	StateAuthorized State = "authorized"
	// StateDebiting: a purchase's DEBIT FOR PURCHASE is next, or a fuel
	// sale's GREY LOCK.
	StateDebiting State = "debiting"
	// StateLocked: the card is grey and its MAC2 checked: the pump may be
	// released up to Record.Limit.
	StateLocked State = "locked"
	// StateDispensed: the nozzle is hung up; Record.Fill is what went out.
	StateDispensed State = "dispensed"
	// StateUnlocking: the GMAC and PSAM-TAC are here; DEBIT FOR UNLOCK is
	// next. Everything a 补扣 needs is in the record.
	StateUnlocking State = "unlocking"
	// StateEscape: DEBIT FOR UNLOCK did not reach the card (逃卡): the card
	// is grey until it comes back (补扣 here) or is unlocked online.
	StateEscape State = "escape"
	// StateApplied: the card applied the operation (final for the card).
	StateApplied State = "applied"
	// StateNotApplied: the card's counters show it did not (final).
	StateNotApplied State = "not_applied"
	// StateUnlockedOnline: the card's grey lock was released by the host's
	// online unlock, which collected the bill's amount (final here).
	StateUnlockedOnline State = "unlocked_online"
	// StateUnresolved: the card's counters moved past the record with no
	// proof of which operation did it (the card was used elsewhere in
	// between): kept for the issuer's reconciliation (final here).
	StateUnresolved State = "unresolved"
)

// final reports whether the card side of the record is settled.
func (s State) final() bool {
	return s == StateApplied || s == StateNotApplied || s == StateUnresolved || s == StateUnlockedOnline
}

// HostState is where the host's part of a record is.
type HostState string

// The host states.
const (
	HostNone      HostState = ""          // the kind has no host part (or not reached yet)
	HostPending   HostState = "pending"   // the host must be told what the card did
	HostConfirmed HostState = "confirmed" // the host has the evidence
	HostRefused   HostState = "refused"   // the host refused the evidence: the card's proof is needed
)

// Bill types of the dispenser bill (T-TYPE low nibble [KJ; IPT]).
const (
	BillNormal byte = 0 // a completed sale
	BillEscape byte = 1 // 逃卡: the card left grey
	BillUnlock byte = 3 // 补扣: an escape completed at the card's next presentation
)

// Record is one durable record of a purse operation: the terminal's
// account of a load, unload, purchase or fuel sale (with the dispenser
// bill's fields), kept as JSON events in a journal.Log ("record":
// "purse", so that the file may also hold the clearing journal's
// entries). The ASN is never in a record in clear: ASN holds it masked,
// ASNHash its keyed hash (to find a card's records) and ASNSealed it
// encrypted (for the bill upload).
type Record struct {
	ID      string    `json:"id"`
	Kind    Kind      `json:"kind"`
	State   State     `json:"state"`
	Host    HostState `json:"host,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`

	ASN       string `json:"asn"`
	ASNHash   string `json:"asn_hash"`
	ASNSealed string `json:"asn_sealed"`
	Wallet    Wallet `json:"wallet"`
	TID       TID    `json:"tid"`
	Type      TxType `json:"type"`

	// Amount is what was asked (load, unload, purchase) or dispensed
	// (fuel, once known); Limit the fuel authorised under the lock.
	Amount        Amount  `json:"amount"`
	Limit         Amount  `json:"limit,omitempty"`
	BalanceBefore Amount  `json:"balance_before"`
	BalanceAfter  *Amount `json:"balance_after,omitempty"`
	// Serial is the card counter the operation used (online serial or
	// CTC); TTC the SAM's serial; Time the date and time the MACs cover.
	Serial uint16   `json:"serial"`
	TTC    uint32   `json:"ttc,omitempty"`
	Time   DateTime `json:"time"`
	// UnlockCTC and UnlockTTC are the counters DEBIT FOR UNLOCK carries
	// (Config.UnlockCounters), fixed when the GMAC is computed.
	UnlockCTC uint16 `json:"unlock_ctc,omitempty"`
	UnlockTTC uint32 `json:"unlock_ttc,omitempty"`

	MACs
	Proof *OnlineInit `json:"proof,omitempty"`

	// KeyVersion is the card's key version (from its INITIALIZE answer).
	KeyVersion byte `json:"key_version,omitempty"`
	// Fill, BillType and POSTTC are the dispenser bill's own fields.
	Fill     *Fill  `json:"fill,omitempty"`
	BillType byte   `json:"bill_type,omitempty"`
	POSTTC   uint32 `json:"pos_ttc,omitempty"`
	// Evidence says what settled the record.
	Evidence string `json:"evidence,omitempty"`
}

// pending reports whether the record still needs the card or the host.
func (r *Record) pending() bool {
	return !r.State.final() || r.Host == HostPending || r.Host == HostRefused
}

// putHook, in tests, is called before and after each record's frame is
// written (the crash test kills the process there).
var putHook func(step, path string)

// Store keeps the terminal's purse records durable: each Put appends the
// record's whole new state as one JSON frame to a journal.Log (fsync'd, a
// torn tail cut on open), and opening replays the frames, the last state
// of each record winning. It is safe for concurrent use.
type Store struct {
	log     *journal.Log
	hashKey []byte
	aead    cipher.AEAD

	mu     sync.Mutex
	recs   map[string]*Record
	order  []string
	open   map[string]map[string]bool // ASN hash → IDs of records forCard returns
	seq    int
	posTTC uint32
}

// OpenStore opens (or creates) the store at path. key (at least 16 bytes,
// secret, the same across restarts) keys the ASN hash and seals the ASN.
// A file whose frames are damaged fails with journal.ErrCorrupt; a record
// that is not valid JSON with ErrRecord.
func OpenStore(path string, key []byte) (*Store, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("%w: store key of %d bytes, want at least 16", ErrConfig, len(key))
	}
	s := &Store{recs: map[string]*Record{}, open: map[string]map[string]bool{}, hashKey: derive(key, "asn-hash")}
	block, err := aes.NewCipher(derive(key, "asn-seal"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if s.log, err = journal.OpenLog(path); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	payloads, err := s.log.Payloads(context.Background())
	if err == nil {
		err = s.replay(payloads)
	}
	if err != nil {
		s.log.Close()
		return nil, err
	}
	return s, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("pboc purse store " + label))
	return m.Sum(nil)
}

// replay rebuilds the records from the frames.
func (s *Store) replay(payloads [][]byte) error {
	return eachRecord(payloads, s.log.Path(), s.remember)
}

// storedRecord is a record as Put writes it: with the journal's record
// kind, so that one file can hold the purse's records beside the EMV
// kernel's clearing records and each reader tells its own.
type storedRecord struct {
	Flow journal.RecordKind `json:"record"`
	*Record
}

// eachRecord decodes the purse records among payloads, in order, and
// hands each to f. The entries of the clearing journal (records and
// events, journal.RecordClearing) are skipped; a payload of a record kind
// the journal does not know, or a purse record that does not read, is an
// error wrapping ErrRecord.
func eachRecord(payloads [][]byte, path string, f func(*Record)) error {
	for i, p := range payloads {
		kind, err := journal.KindOf(p)
		if err != nil {
			return fmt.Errorf("%w: frame %d of %s: %w", ErrRecord, i, path, err)
		}
		if kind != journal.RecordPurse {
			continue
		}
		var r Record
		if err := json.Unmarshal(p, &r); err != nil || r.ID == "" {
			return fmt.Errorf("%w: frame %d of %s: not a record", ErrRecord, i, path)
		}
		f(&r)
	}
	return nil
}

// DecodeRecords returns the purse records held in a journal's payloads
// (journal.File.Payloads with journal.RecordPurse, or journal.Log.Payloads
// of a Store's file): the last state of each record, in the order the
// records were first written, as Store.Records returns them. It is how a
// reader that is not the terminal (pboc journal list) reads a Store's
// file without opening it for writing. Errors wrap ErrRecord.
func DecodeRecords(payloads [][]byte) ([]Record, error) {
	recs := map[string]*Record{}
	var order []string
	err := eachRecord(payloads, "the journal", func(r *Record) {
		if _, ok := recs[r.ID]; !ok {
			order = append(order, r.ID)
		}
		recs[r.ID] = r
	})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(order))
	for _, id := range order {
		out = append(out, *recs[id])
	}
	return out, nil
}

// remember keeps r as the latest state of its ID; the caller holds mu (or
// is replaying).
func (s *Store) remember(r *Record) {
	if _, ok := s.recs[r.ID]; !ok {
		s.order = append(s.order, r.ID)
		if n := idSeq(r.ID); n > s.seq {
			s.seq = n
		}
	}
	if r.POSTTC > s.posTTC {
		s.posTTC = r.POSTTC
	}
	s.recs[r.ID] = r
	ids := s.open[r.ASNHash]
	if !r.State.final() || r.Host == HostRefused {
		if ids == nil {
			ids = map[string]bool{}
			s.open[r.ASNHash] = ids
		}
		ids[r.ID] = true
	} else if ids != nil {
		delete(ids, r.ID)
		if len(ids) == 0 {
			delete(s.open, r.ASNHash)
		}
	}
}

// idSeq reads the sequence number at the end of an ID ("…-000012").
func idSeq(id string) int {
	i := strings.LastIndexByte(id, '-')
	n, _ := strconv.Atoi(id[i+1:])
	return n
}

// Put makes r's state durable (one frame, fsync'd) and then current. When
// it fails the record keeps its previous state in memory and, if the
// frame reached the disk anyway, the next open shows the new one: a caller
// that gets an error must not move money on this state.
func (s *Store) Put(ctx context.Context, r Record) error {
	b, err := json.Marshal(storedRecord{journal.RecordPurse, &r})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	if putHook != nil {
		putHook("before", s.log.Path())
	}
	if err := s.log.Append(ctx, b); err != nil {
		return fmt.Errorf("%w: record %s (%s): %w", ErrStore, r.ID, r.State, err)
	}
	if putHook != nil {
		putHook("after", s.log.Path())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remember(&r)
	return nil
}

// newID returns the next record ID of kind at terminal tid.
func (s *Store) newID(tid TID, k Kind) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s-%s-%06d", tid, k, s.seq)
}

// nextPOSTTC returns the next dispenser bill serial.
func (s *Store) nextPOSTTC() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posTTC++
	return s.posTTC
}

// Get returns the record with the ID.
func (s *Store) Get(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Records returns every record, in the order they were first written.
func (s *Store) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.recs[id])
	}
	return out
}

// Pending returns the records that still need the card or the host,
// oldest first.
func (s *Store) Pending() []Record {
	var out []Record
	for _, r := range s.Records() {
		if r.pending() {
			out = append(out, r)
		}
	}
	return out
}

// forCard returns the card's records whose card side is not settled, or
// whose evidence the host refused (the card's proof is needed).
func (s *Store) forCard(hash string) []Record {
	s.mu.Lock()
	var out []Record
	for id := range s.open[hash] {
		out = append(out, *s.recs[id])
	}
	s.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return idSeq(out[i].ID) < idSeq(out[j].ID) })
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// EscapeBills returns the fuel records whose card is still grey from
// this terminal as far as the store knows and whose amount it knows
// (escape bills, 逃卡, and sales cut off before their unlock), for the
// station to upload. A record still Locked is not one: the pump was
// released and what it delivered is on its totaliser, not here.
func (s *Store) EscapeBills() []Record {
	var out []Record
	for _, r := range s.Records() {
		if r.Kind == KindFuel && !r.State.final() && r.State != StateStarted && r.State != StateLocked {
			out = append(out, r)
		}
	}
	return out
}

// HashASN returns the store's keyed hash of an ASN, the key of a card's
// records.
func (s *Store) HashASN(a ASN) string {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write(a[:])
	return hex.EncodeToString(m.Sum(nil))
}

// sealASN encrypts the ASN (AES-256-GCM, random nonce, the hash as
// associated data).
func (s *Store) sealASN(a ASN) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails (it crashes the program instead)
	return hex.EncodeToString(s.aead.Seal(nonce, nonce, a[:], []byte(s.HashASN(a))))
}

// OpenASN returns the ASN a record sealed (for the bill upload), failing
// with ErrRecord when the record was not sealed by this store's key.
func (s *Store) OpenASN(r Record) (ASN, error) {
	b, err := hex.DecodeString(r.ASNSealed)
	ns := s.aead.NonceSize()
	if err != nil || len(b) < ns {
		return ASN{}, fmt.Errorf("%w: %s: sealed ASN", ErrRecord, r.ID)
	}
	plain, err := s.aead.Open(nil, b[:ns], b[ns:], []byte(r.ASNHash))
	if err != nil || len(plain) != len(ASN{}) {
		return ASN{}, fmt.Errorf("%w: %s: sealed ASN does not open", ErrRecord, r.ID)
	}
	var a ASN
	copy(a[:], plain)
	return a, nil
}

// Path returns the store's file.
func (s *Store) Path() string { return s.log.Path() }

// Close closes the store's file.
func (s *Store) Close() error { return s.log.Close() }
