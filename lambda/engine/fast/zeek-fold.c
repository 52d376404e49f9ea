/*
 * The Zeek conn.log fast path: reads TSV lines from bytes and folds each record into its
 * destination's counter row, exactly as ZeekTsvParser.line followed by Aggregator.flow would.
 *
 * It handles only the common case and hands every other line back to the JavaScript path
 * (which decides, explains and learns): header lines, addresses that are not addresses,
 * protocols without a bit, lines too long or too short.
 * An address spelling or a destination met for the first time is asked of JavaScript (imported
 * first_seen and new_destination), which numbers it as its own path would, as is a port past the
 * row's inline slots (note_port), which JavaScript lists. So this file never
 * judges an address or creates a destination; it adds up what JavaScript decided, and the verdict
 * is the same whichever path a line took (test/engine/fast/zeek-fold.test.ts compares them).
 *
 * Built with clang for wasm32 (scripts/build-wasm.sh); no libc. The arithmetic on doubles
 * follows the JavaScript operation for operation, so results are bit-identical: do not build
 * with -ffast-math.
 */

#include <wasm_simd128.h>

typedef unsigned char u8;
typedef int i32;
typedef unsigned int u32;
typedef double f64;
typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(#name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/*
 * JavaScript settles the address spelled by in[at, at + len), met for the first time: returns its
 * endpoint, having learned it (learn), or -1 when it is not an address or was not learned (the
 * line then goes to the JavaScript path). It may grow the hash table: slot numbers found before
 * the call are stale after it.
 */
IMPORT(first_seen) i32 js_first_seen(i32 at, i32 len);
/* JavaScript makes endpoint ep a destination: returns its number (ep_dest is set too). */
IMPORT(new_destination) i32 js_new_destination(i32 ep);
/*
 * JavaScript lists port `port` of destination d past its row's inline slots, which hold others
 * (Aggregator.notePort's list past the row; C_PORTS_FULL is set when that fills).
 */
IMPORT(note_port) void js_note_port(i32 d, i32 port);

/* Row layout: must match lambda/engine/verdict/aggregate.ts. */
enum {
  C_CONNECTIONS = 0,
  C_PROTO_MASK = 1,
  C_UNKNOWN_BYTES = 2,
  C_SENT = 3,
  C_RECEIVED = 4,
  C_FIRST = 5,
  C_LAST = 6,
  C_LAST_PORT = 7,
  C_BLOCKED = 8,
  C_PORTS_FULL = 9,
  C_PORTS = 10,
  INLINE_PORTS = 12,
  C_EVIDENCE = 22,
  EVIDENCE_LINES = 10,
  ROW = 32,
};

#define KEY_CELL 48
#define MAX_KEY 47
/* A hash slot: hash, key number + 1, endpoint, flags | length << LEN_SHIFT, first 16 key bytes. */
#define SLOT 8
#define LEN_SHIFT 8
#define FLAG_LOCAL 1
/* Link-scoped (224.0.0.0/24, 255.255.255.255, ff01::/16, ff02::/16): its sender is inside (Aggregator.flow). */
#define FLAG_LINK 2
#define MAX_FIELDS 64

/* Wanted columns, in the order of ZeekTsvParser's WANTED list. */
enum { W_ORIG_H, W_RESP_H, W_ORIG_P, W_RESP_P, W_PROTO, W_ORIG_B, W_RESP_B, W_TS, W_DURATION, W_LOCAL_O, W_LOCAL_R, W_CONN_STATE, W_COUNT };

/* Regions of the (imported) memory, laid out by the JavaScript side. */
static u8 *in;
static u8 *scratch;
static f64 *rows;
static i32 *ep_dest;
static u32 ep_cap;
static u8 *keys;
static u32 key_count;
static u32 key_cap;
static i32 *slots;
static u32 mask;
static u8 *arena;
static u8 *arena_end;

/* Layout of the current log, from its #fields header. 0 fields needed = no layout yet. */
static i32 sep = 9;
static i32 need;
/* How many fields #fields names: a line with more goes to JavaScript (ZeekTsvParser skips it). */
static i32 field_count;
static i32 cols[W_COUNT];
static i32 max_line;
static i32 proto_bit[3] = {-1, -1, -1};


static void init_scales(void);

/* Results of the last scan. */
static f64 out_lines;
static f64 out_records;

EXPORT(init)
void init(u8 *in_, u8 *scratch_, f64 *rows_, i32 *ep_dest_, u32 ep_cap_, u8 *keys_, u32 key_cap_, u8 *arena_, u8 *arena_end_) {
  in = in_;
  scratch = scratch_;
  rows = rows_;
  ep_dest = ep_dest_;
  ep_cap = ep_cap_;
  keys = keys_;
  key_cap = key_cap_;
  key_count = 0;
  arena = arena_;
  arena_end = arena_end_;
  mask = 1023;
  slots = (i32 *)arena;
  arena += (mask + 1) * SLOT * 4;
  for (u32 i = 0; i < (mask + 1) * SLOT; i++) slots[i] = 0;
  need = 0;
  for (i32 i = 0; i < 3; i++) proto_bit[i] = -1;
  init_scales();
}

/** Sets the column layout; returns 0 (and disables the fast path) when it cannot handle it. */
EXPORT(configure)
i32 configure(i32 sep_, i32 max_line_, i32 field_count_, i32 c0, i32 c1, i32 c2, i32 c3, i32 c4, i32 c5, i32 c6, i32 c7, i32 c8, i32 c9,
              i32 c10, i32 c11) {
  i32 c[W_COUNT] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  i32 n = 0;
  for (i32 i = 0; i < W_COUNT; i++) {
    cols[i] = c[i];
    if (c[i] + 1 > n) n = c[i] + 1;
  }
  sep = sep_;
  max_line = max_line_;
  field_count = field_count_;
  if (n > MAX_FIELDS || c0 < 0 || c1 < 0 || sep_ == 10 || sep_ == 13 || sep_ < 0 || sep_ > 255) {
    need = 0;
    return 0;
  }
  need = n;
  return 1;
}

/** Bit number of tcp (0), udp (1) or icmp (2) in the protocol mask. */
EXPORT(set_proto_bit)
void set_proto_bit(i32 which, i32 bit) {
  if (which >= 0 && which < 3) proto_bit[which] = bit;
}

EXPORT(out_line_count)
f64 out_line_count(void) { return out_lines; }

EXPORT(out_record_count)
f64 out_record_count(void) { return out_records; }

/*
 * Addresses are hashed and compared 16 bytes at a time: the bytes of a spelling, read with
 * wasm's unaligned loads (the caller leaves 48 readable bytes past any field), with the bytes
 * past its end zeroed.
 */
static v128_t chunk(const u8 *b, i32 from, i32 len) {
  v128_t v = wasm_v128_load(b + from);
  const v128_t iota = wasm_i8x16_make(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return wasm_v128_and(v, wasm_i8x16_lt(iota, wasm_i8x16_splat((signed char)(len - from))));
}

static u32 hash(const u8 *b, i32 len) {
  u64 h = (u64)len * 0x9e3779b97f4a7c15ull;
  for (i32 at = 0; at < len; at += 16) {
    v128_t v = chunk(b, at, len);
    h = (h ^ wasm_i64x2_extract_lane(v, 0)) * 0xff51afd7ed558ccdull;
    h = (h ^ (h >> 29) ^ wasm_i64x2_extract_lane(v, 1)) * 0xc4ceb9fe1a85ec53ull;
  }
  h ^= h >> 32;
  return (u32)h | 1;
}

/** Whether the key cell k spells b[0, len). */
static i32 same_key(const u8 *k, const u8 *b, i32 len) {
  for (i32 at = 0; at < len; at += 16) {
    if (!wasm_i8x16_all_true(wasm_i8x16_eq(chunk(b, at, len), wasm_v128_load(k + at)))) return 0;
  }
  return 1;
}

/**
 * Slot index of a known address spelling b[0, len) whose hash is h, or -1. The slot holds the
 * first 16 bytes, so an IPv4 spelling is settled without reading its key cell.
 */
static i32 find_hashed(const u8 *b, i32 len, u32 h) {
  v128_t first = chunk(b, 0, len);
  for (u32 slot = h & mask;; slot = (slot + 1) & mask) {
    i32 *at = slots + slot * SLOT;
    i32 entry = at[1];
    if (entry == 0) return -1;
    if ((u32)at[0] == h && (at[3] >> LEN_SHIFT) == len && wasm_i8x16_all_true(wasm_i8x16_eq(first, wasm_v128_load(at + 4))) &&
        (len <= 16 || same_key(keys + (u32)(entry - 1) * KEY_CELL, b, len))) {
      return (i32)(slot * SLOT);
    }
  }
}

/** Slot index of a known address spelling b[0, len), or -1. */
static i32 find(const u8 *b, i32 len) {
  if (len <= 0 || len > MAX_KEY) return -1;
  return find_hashed(b, len, hash(b, len));
}

static void insert(i32 *table, u32 m, const i32 *from) {
  u32 slot = (u32)from[0] & m;
  while (table[slot * SLOT + 1] != 0) slot = (slot + 1) & m;
  i32 *at = table + slot * SLOT;
  for (i32 i = 0; i < SLOT; i++) at[i] = from[i];
}

/**
 * Remembers that the address spelled by scratch[0, len) is endpoint `ep`. Returns 0 when it is not
 * kept (too long, tables full): its lines then keep taking the JavaScript path.
 */
EXPORT(learn)
i32 learn(i32 len, i32 ep, i32 flags) {
  if (len <= 0 || len > MAX_KEY || ep < 0 || (u32)ep >= ep_cap) return 0;
  if (find(scratch, len) >= 0) return 1;
  if (key_count >= key_cap) return 0;
  /*
   * Grown at three quarters full, not half: every slot of a table is touched, and the tables it
   * outgrew stay in the arena, so this keeps about half the memory (a lookup still mostly stays in
   * its home slot's cache line).
   */
  if ((key_count + 1) * 4 > (mask + 1) * 3) {
    u32 m = mask * 2 + 1;
    u32 bytes = (m + 1) * SLOT * 4;
    if ((u32)(arena_end - arena) < bytes) return 0;
    i32 *table = (i32 *)arena;
    arena += bytes;
    for (u32 i = 0; i < (m + 1) * SLOT; i++) table[i] = 0;
    for (u32 s = 0; s <= mask; s++) {
      i32 *at = slots + s * SLOT;
      if (at[1] != 0) insert(table, m, at);
    }
    slots = table;
    mask = m;
  }
  u8 *k = keys + key_count * KEY_CELL;
  for (i32 i = 0; i < KEY_CELL; i++) k[i] = i < len ? scratch[i] : 0;
  key_count++;
  i32 slot[SLOT] = {(i32)hash(scratch, len), (i32)key_count, ep, (flags & (FLAG_LOCAL | FLAG_LINK)) | (len << LEN_SHIFT)};
  for (i32 i = 0; i < 16; i++) ((u8 *)(slot + 4))[i] = k[i];
  insert(slots, mask, slot);
  return 1;
}

/* Eight copies of a byte. */
#define BYTES8(b) (0x0101010101010101ull * (b))

/*
 * A field of 1 to 8 characters as an unsigned integer, or -1 when one is not a digit: read as one
 * 64-bit word (fields have readable bytes past their end), its characters moved to the top and
 * the bytes below them filled with '0', checked and converted all at once. The lengths of ports
 * and byte counts vary from line to line, and a loop over the digits mispredicts its exit.
 */
static f64 parse_uint8(i32 s, i32 len) {
  u64 w;
  __builtin_memcpy(&w, in + s, 8);
  i32 pad = (8 - len) * 8;
  w = (w << pad) | (BYTES8(0x30) & ~(~0ull << pad));
  /* Every byte is 0x30..0x39: high nibble 3, and adding 6 does not carry out of the low nibble. */
  if ((((w & BYTES8(0xf0)) ^ BYTES8(0x30)) | (((w + BYTES8(0x06)) & BYTES8(0xf0)) ^ BYTES8(0x30))) != 0) return -1;
  u64 d = w - BYTES8(0x30);
  /* Pairs, then fours, then all eight (the first character is the lowest byte). */
  d = d * 10 + (d >> 8);
  d = (((d & 0x000000ff000000ffull) * (100 + (1000000ull << 32))) +
       (((d >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32)))) >> 32;
  return (f64)(u32)d;
}

/* ZeekTsvParser's number readers (lambda/engine/parsers/bytes.ts), operation for operation. */
/*
 * While a value has at most 15 digits every step of the JavaScript's `v = v * 10 + c` on doubles is
 * exact, so adding up in integers and converting once gives the same double.
 */
static f64 parse_uint(i32 s, i32 e) {
  if (e <= s || e - s > 15) return -1;
  if (e - s <= 8) return parse_uint8(s, e - s);
  u64 v = 0;
  for (i32 i = s; i < e; i++) {
    u32 c = (u32)in[i] - 48;
    if (c > 9) return -1;
    v = v * 10 + c;
  }
  return (f64)v;
}

static const f64 NaN = __builtin_nan("");

/* scales[k] is what the JavaScript's `scale` holds at the k-th fraction digit (100, then /= 10). */
#define SCALES 24
static f64 scales[SCALES];

static void init_scales(void) {
  f64 scale = 100;
  for (i32 k = 0; k < SCALES; k++) {
    scales[k] = scale;
    scale /= 10;
  }
}

static f64 parse_epoch_ms(i32 s, i32 e) {
  i32 i = s;
  u64 secs = 0;
  while (i < e) {
    u32 c = (u32)in[i] - 48;
    if (c > 9) break;
    secs = secs * 10 + c;
    i++;
  }
  i32 digits = i - s;
  if (digits == 0 || digits > 12) return NaN;
  f64 ms = (f64)secs * 1000;
  if (i < e) {
    if (in[i] != 46) return NaN;
    i++;
    f64 scale = scales[SCALES - 1];
    for (i32 k = 0; i < e; i++, k++) {
      u32 c = (u32)in[i] - 48;
      if (c > 9) return NaN;
      if (k < SCALES) {
        ms += (f64)(i32)c * scales[k];
      } else {
        scale /= 10;
        ms += (f64)(i32)c * scale;
      }
    }
  }
  return ms;
}

/** Whether field `ci` of the line is Zeek's unset marker `-` (the fast path runs only where it is). */
/* Whether in[s, e) says yes as bytes.ts saysTrue reads it: T, t, 1, or true in any case. */
/* Whether in[s, e) is S0, REJ, RSTOS0 or SH: conn_state values whose responder sent no data (NO_REPLY_STATES). */
static i32 no_reply(i32 s, i32 e) {
  const u8 *p = in + s;
  switch (e - s) {
    case 2:
      return (p[0] == 'S' && p[1] == '0') || (p[0] == 'S' && p[1] == 'H');
    case 3:
      return p[0] == 'R' && p[1] == 'E' && p[2] == 'J';
    case 6:
      return p[0] == 'R' && p[1] == 'S' && p[2] == 'T' && p[3] == 'O' && p[4] == 'S' && p[5] == '0';
    default:
      return 0;
  }
}

static i32 says_true(i32 s, i32 e) {
  if (e - s == 1) return in[s] == 'T' || in[s] == 't' || in[s] == '1';
  return e - s == 4 && (in[s] | 0x20) == 't' && (in[s + 1] | 0x20) == 'r' && (in[s + 2] | 0x20) == 'u' && (in[s + 3] | 0x20) == 'e';
}

static i32 is_unset(const i32 *pos, i32 ci) { return pos[ci * 2 + 1] - pos[ci * 2] == 1 && in[pos[ci * 2]] == '-'; }

/** 0 tcp, 1 udp, 2 icmp, -1 anything else. */
static i32 proto_of(i32 s, i32 e) {
  i32 n = e - s;
  if (n == 3 && in[s] == 't' && in[s + 1] == 'c' && in[s + 2] == 'p') return 0;
  if (n == 3 && in[s] == 'u' && in[s + 1] == 'd' && in[s + 2] == 'p') return 1;
  if (n == 4 && in[s] == 'i' && in[s + 1] == 'c' && in[s + 2] == 'm' && in[s + 3] == 'p') return 2;
  return -1;
}

/* A pointer as the memory offset JavaScript reads it at. */
static i32 address_of(const u8 *p) { return (i32)(__SIZE_TYPE__)p; }

/*
 * Lines are folded in batches. Most of a line's time would otherwise go in waiting for memory:
 * the responder's hash slot, its destination number and its row are each a likely cache miss
 * (destinations are many), and each needs the one before. A batch first splits its lines, then
 * reads those three for all of its lines, level by level, so that the misses of a level are in
 * flight together; then folds the lines, from the cache. (WebAssembly has no prefetch: the reads
 * are plain loads kept by an empty asm.)
 */
#define BATCH 16

/* The lines of the batch: start, newline, end without CR, fields, and originator/responder hashes. */
static i32 b_start[BATCH];
static i32 b_nl[BATCH];
static i32 b_end[BATCH];
static u32 b_hash[BATCH * 2];
static i32 b_remote[BATCH];
static i32 b_pos[BATCH][MAX_FIELDS * 2];

/* Keeps a value read, so the read is done (its only purpose is to bring the memory into the cache). */
#define TOUCH(x) __asm__ volatile("" : : "r"(x))

static u32 hash_field(const i32 *pos, i32 ci) {
  i32 at = pos[ci * 2], n = pos[ci * 2 + 1] - at;
  return n > 0 && n <= MAX_KEY ? hash(in + at, n) : 0;
}

/**
 * Splits up to BATCH lines from p, each into b_pos (the needed fields) and its newline: returns how
 * many. It stops before a line that is not all in in[p, len) (the next window has it), and before
 * one the JavaScript path must take (too long, a header, too few fields): the fold returns there.
 */
static i32 split_batch(i32 p, i32 len) {
  const i32 n_need = need;
  const v128_t v_sep = wasm_i8x16_splat((signed char)sep);
  const v128_t v_nl = wasm_i8x16_splat(10);
  i32 k = 0;
  for (; k < BATCH && p < len; k++) {
    /*
     * Locate the needed columns and the end of the line, 16 bytes at a time: a bit mask of the
     * separators and newlines in each block, read lowest bit first. The window has readable bytes
     * past len; anything found there is not in this window.
     */
    i32 *pos = b_pos[k];
    i32 col = 0;
    i32 fs = p;
    i32 nl = -1;
    i32 i = p;
    for (;;) {
      v128_t v = wasm_v128_load(in + i);
      u32 m_nl = wasm_i8x16_bitmask(wasm_i8x16_eq(v, v_nl));
      u32 m = wasm_i8x16_bitmask(wasm_i8x16_eq(v, v_sep)) | m_nl;
      while (m != 0) {
        i32 at = i + __builtin_ctz(m);
        if (at >= len) return k;
        if (in[at] == 10) {
          nl = at;
          goto line_end;
        }
        pos[col * 2] = fs;
        pos[col * 2 + 1] = at;
        col++;
        fs = at + 1;
        if (col == n_need) goto fields_done;
        m &= m - 1;
      }
      i += 16;
      if (i >= len) return k;
    }
  fields_done:
    /* The rest of the line: its end, and its separators (more fields than #fields names is JavaScript's). */
    {
      i32 seps = 0;
      for (i = fs;; i += 16) {
        if (i >= len) return k;
        v128_t v = wasm_v128_load(in + i);
        u32 m = wasm_i8x16_bitmask(wasm_i8x16_eq(v, v_nl));
        u32 ms = wasm_i8x16_bitmask(wasm_i8x16_eq(v, v_sep));
        if (m != 0) {
          nl = i + __builtin_ctz(m);
          if (nl >= len) return k;
          seps += __builtin_popcount(ms & ((1u << __builtin_ctz(m)) - 1));
          break;
        }
        seps += __builtin_popcount(ms);
      }
      if (n_need + seps + 1 > field_count) return k;
    }
  line_end:
    if (nl - p > max_line + 1) return k;
    i32 e = nl;
    if (e > p && in[e - 1] == 13) e--;
    b_start[k] = p;
    b_nl[k] = nl;
    b_end[k] = e;
    b_hash[k * 2] = b_hash[k * 2 + 1] = 0;
    if (e != p) {
      if (in[p] == 35) return k;
      if (col < n_need) {
        /* The last field ran to the end of the line (the JS parser's bound is the CR-less end). */
        pos[col * 2] = fs;
        pos[col * 2 + 1] = e;
        col++;
      }
      if (col < n_need) return k;
      b_hash[k * 2] = hash_field(pos, cols[W_ORIG_H]);
      b_hash[k * 2 + 1] = hash_field(pos, cols[W_RESP_H]);
    }
    p = nl + 1;
  }
  return k;
}

/**
 * Brings into the cache what folding the k lines of the batch will read: the originator's and
 * responder's home slots, then the remote party's destination number, then its row. Only reads:
 * a slot that turns out not to be the address's just means a miss later.
 */
static void warm_batch(i32 k) {
  for (i32 j = 0; j < k * 2; j++) {
    if (b_hash[j] != 0) TOUCH(slots[(b_hash[j] & mask) * SLOT]);
  }
  for (i32 j = 0; j < k; j++) {
    b_remote[j] = -1;
    u32 ho = b_hash[j * 2], hr = b_hash[j * 2 + 1];
    if (ho == 0 || hr == 0) continue;
    const i32 *so = slots + (ho & mask) * SLOT, *sr = slots + (hr & mask) * SLOT;
    if ((u32)so[0] != ho || (u32)sr[0] != hr || so[1] == 0 || sr[1] == 0) continue;
    i32 remote = (so[3] & FLAG_LOCAL) == 0 && (sr[3] & (FLAG_LOCAL | FLAG_LINK)) == FLAG_LOCAL ? so[2] : sr[2];
    b_remote[j] = remote;
    TOUCH(ep_dest[remote]);
  }
  for (i32 j = 0; j < k; j++) {
    if (b_remote[j] < 0) continue;
    i32 d = ep_dest[b_remote[j]] - 1;
    if (d < 0) continue;
    const f64 *row = rows + (u32)d * ROW;
    TOUCH(row[C_CONNECTIONS]);
    TOUCH(row[C_PORTS_FULL]);
  }
}

/**
 * Slot index of the address in field `ci` of a line (its hash `h`, or 0 when not computed), asking
 * JavaScript to settle a spelling met for the first time; -1 when the line must go to JavaScript.
 */
static i32 settled_slot(const i32 *pos, i32 ci, u32 h) {
  i32 at = pos[ci * 2], len = pos[ci * 2 + 1] - at;
  i32 slot = h != 0 ? find_hashed(in + at, len, h) : find(in + at, len);
  if (slot >= 0) return slot;
  if (js_first_seen(address_of(in + at), len) < 0) return -1;
  return find(in + at, len);
}

/**
 * Folds the complete lines of in[off, len) until one needs the JavaScript path. Returns the
 * offset where it stopped (len when every line was folded); out_line_count() is then the line
 * number of the last line handled, out_record_count() how many records were folded.
 */
EXPORT(scan)
i32 scan(i32 off, i32 len, f64 line_no) {
  i32 p = off;
  f64 records = 0;
  const i32 n_need = need;
  if (n_need == 0) goto window_end;
  while (p < len) {
    i32 k = split_batch(p, len);
    warm_batch(k);
    for (i32 j = 0; j < k; j++) {
      const i32 *pos = b_pos[j];
      i32 nl = b_nl[j];
      if (b_end[j] == b_start[j]) {
        /* An empty line: no record. */
        line_no++;
        p = nl + 1;
        continue;
      }
      /* The originator, then the responder, as Aggregator.flow resolves them. */
      i32 so = settled_slot(pos, cols[W_ORIG_H], b_hash[j * 2]);
      if (so < 0) goto stop;
      i32 orig = slots[so + 2], forig = slots[so + 3];
      i32 sr = settled_slot(pos, cols[W_RESP_H], b_hash[j * 2 + 1]);
      if (sr < 0) goto stop;
      i32 resp = slots[sr + 2], fresp = slots[sr + 3];
      /*
       * The log says a side is inside (local_orig/local_resp T) that its address does not put there:
       * JavaScript takes the line (FlowRecord.origLocal), so the fold's flags stay the policy's.
       */
      i32 lo = cols[W_LOCAL_O], lr = cols[W_LOCAL_R];
      if ((forig & FLAG_LOCAL) == 0 && lo >= 0 && says_true(pos[lo * 2], pos[lo * 2 + 1])) goto stop;
      if ((fresp & FLAG_LOCAL) == 0 && lr >= 0 && says_true(pos[lr * 2], pos[lr * 2 + 1])) goto stop;
      i32 ci;
      f64 orig_bytes = -1, resp_bytes = -1;
      f64 first = NaN, last = NaN;
      i32 bit = -1;
      /* ICMP's "ports" are its message type and code: no port is listed (Aggregator.flow). */
      i32 portless = 0;
      if ((ci = cols[W_PROTO]) >= 0) {
        i32 which = proto_of(pos[ci * 2], pos[ci * 2 + 1]);
        if (which < 0) goto stop;
        bit = proto_bit[which];
        if (bit < 0) goto stop;
        portless = which == 2;
      }
      /* A byte count that is neither a count nor unset (`-`) is reported by JavaScript. */
      if ((ci = cols[W_ORIG_B]) >= 0 && (orig_bytes = parse_uint(pos[ci * 2], pos[ci * 2 + 1])) < 0 && !is_unset(pos, ci)) goto stop;
      if ((ci = cols[W_RESP_B]) >= 0 && (resp_bytes = parse_uint(pos[ci * 2], pos[ci * 2 + 1])) < 0) {
        if (!is_unset(pos, ci)) goto stop;
        /* Unset, and conn_state says the responder sent nothing (zeek-paths.ts NO_REPLY_STATES). */
        if ((ci = cols[W_CONN_STATE]) >= 0 && no_reply(pos[ci * 2], pos[ci * 2 + 1])) resp_bytes = 0;
      }
      if ((ci = cols[W_TS]) >= 0) {
        f64 ts = parse_epoch_ms(pos[ci * 2], pos[ci * 2 + 1]);
        /* Not epoch seconds and not unset: maybe a date (zeek-cut -d), which JavaScript reads. */
        if (ts != ts && !(pos[ci * 2 + 1] - pos[ci * 2] == 1 && in[pos[ci * 2]] == '-')) goto stop;
        first = ts;
        if ((ci = cols[W_DURATION]) >= 0) {
          f64 dur = parse_epoch_ms(pos[ci * 2], pos[ci * 2 + 1]);
          /* Neither a duration nor unset: JavaScript reports it. */
          if (dur != dur && !is_unset(pos, ci)) goto stop;
          last = dur == dur ? ts + dur : ts;
        } else {
          last = ts;
        }
      }

      /* Aggregator.flow: who is the remote party. Only the remote party's port is read. */
      i32 remote;
      f64 sent, received, port = -1;
      /* Sent to a link-scoped address: the sender was on the observed link, inside. */
      const i32 inbound = (forig & FLAG_LOCAL) == 0 && (fresp & (FLAG_LOCAL | FLAG_LINK)) == FLAG_LOCAL;
      if (inbound) {
        remote = orig;
        sent = resp_bytes;
        received = orig_bytes;
        ci = cols[W_ORIG_P];
      } else {
        remote = resp;
        sent = orig_bytes;
        received = resp_bytes;
        ci = cols[W_RESP_P];
      }
      if (ci >= 0 && !portless) port = parse_uint(pos[ci * 2], pos[ci * 2 + 1]);
      /*
       * Opened from outside and answered with nothing (a scanner's probe): a refused attempt, with
       * what it sent in; no connection, so no unknown byte count either.
       */
      const i32 unanswered = inbound && sent == 0;
      i32 d = ep_dest[remote] - 1; /* stored plus one: 0 is "not a destination yet" */
      if (d < 0) {
        d = js_new_destination(remote);
        if (d < 0) goto stop;
      }
      f64 *row = rows + (u32)d * ROW;
      /* The port list: decide before changing anything, since a line may still go back. */
      i32 port_slot = -1;
      i32 port_past_row = 0;
      /* A port past 65535 is no port (Aggregator.flow lists none). */
      i32 port_new = port != row[C_LAST_PORT] && port >= 0 && port <= 65535;
      if (port_new) {
        /*
         * Aggregator.notePort's walk, two slots at a time: the first slot that holds the port or is
         * empty (< 0) ends it. Branch-free within the first six slots, which share the cache line of
         * C_PORTS_FULL; a destination rarely sees more ports than that.
         */
        const v128_t v_port = wasm_f64x2_splat(port);
        const v128_t v_zero = wasm_f64x2_splat(0);
        u32 stop = 0;
        for (i32 k = 0; k < INLINE_PORTS; k += 2) {
          v128_t q = wasm_v128_load(row + C_PORTS + k);
          stop |= (u32)wasm_i64x2_bitmask(wasm_v128_or(wasm_f64x2_eq(q, v_port), wasm_f64x2_lt(q, v_zero))) << k;
          if (k == 4 && stop != 0) break;
        }
        if (stop == 0) {
          /* Every inline slot holds another port: the list past the row is JavaScript's. */
          port_past_row = row[C_PORTS_FULL] == 0;
        } else {
          i32 k = __builtin_ctz(stop);
          if (row[C_PORTS + k] < 0) port_slot = k;
        }
      }

      /* Evidence lines are numbered by connections plus blocked attempts; past ten, neither is read. */
      f64 connections = row[C_CONNECTIONS];
      f64 seen = connections < EVIDENCE_LINES ? connections + row[C_BLOCKED] : EVIDENCE_LINES;
      if (unanswered) {
        row[C_BLOCKED] += 1;
        if (received > 0) row[C_RECEIVED] += received;
      } else {
        row[C_CONNECTIONS] = connections + 1;
        if (sent < 0 || received < 0) row[C_UNKNOWN_BYTES] += 1;
        if (sent > 0) row[C_SENT] += sent;
        if (received > 0) row[C_RECEIVED] += received;
      }
      if (first == first && !(first >= row[C_FIRST])) row[C_FIRST] = first;
      f64 l = last == last ? last : first;
      if (l == l && !(l <= row[C_LAST])) row[C_LAST] = l;
      if (port_new) {
        row[C_LAST_PORT] = port;
        if (port_slot >= 0) row[C_PORTS + port_slot] = port;
        else if (port_past_row) js_note_port(d, (i32)port);
      }
      if (bit >= 0) {
        i32 m = (i32)row[C_PROTO_MASK];
        if ((m & (1 << bit)) == 0) row[C_PROTO_MASK] = (f64)(m | (1 << bit));
      }
      line_no++;
      if (seen < EVIDENCE_LINES) row[C_EVIDENCE + (i32)seen] = line_no;
      records++;
      p = nl + 1;
    }
    if (k < BATCH) break;
  }
stop:
window_end:
  out_lines = line_no;
  out_records = records;
  return p;
}

/*
 * The verdict writer's counters: a destination's numbers written as JSON straight from its row,
 * byte for byte what lambda/engine/verdict/serialize.ts writes from the same row (the fold tests
 * compare the two). Each writer checks every value first and returns -1, having written nothing,
 * when one needs JavaScript's spelling (not a safe non-negative integer, a time outside years
 * 0-9999, ports past the inline slots); JavaScript then writes that destination itself.
 */

/* Where the writers write: a region of this memory set by JavaScript (set_out). */
static u8 *out;

EXPORT(set_out)
void set_out(u8 *out_) { out = out_; }

/* What putNum writes digit by digit in JavaScript: a safe non-negative integer. */
static i32 is_count(f64 x) { return x >= 0 && x <= 9007199254740991.0 && (f64)(u64)x == x; }

/* A string literal at out[p]: its bytes copied at once (u8 stores may alias anything, so byte by
 * byte the compiler would reload the pointer after each). Returns the end. */
#define LIT(p, s) (__builtin_memcpy(out + (p), s, sizeof(s) - 1), (p) + (i32)sizeof(s) - 1)

static i32 put_lit(i32 p, const char *s) {
  u8 *const o = out;
  while (*s) o[p++] = (u8)*s++;
  return p;
}

/* The digits of n (below 2^32), at least `width` of them (zeros in front): 32-bit division by 10
 * is a multiplication in wasm, 64-bit division is not. */
static i32 put_u32(i32 p, u32 n, i32 width) {
  u8 *const o = out;
  u8 digits[10];
  i32 k = 0;
  do {
    u32 q = n / 10;
    digits[k++] = (u8)('0' + (n - q * 10));
    n = q;
  } while (n != 0 || k < width);
  while (k > 0) o[p++] = digits[--k];
  return p;
}

static i32 put_count(i32 p, f64 x) {
  u64 n = (u64)x;
  if (n <= 0xffffffffull) return put_u32(p, (u32)n, 1);
  /* Below 2^53: at most 16 digits, as a high part and the last nine. */
  u64 hi = n / 1000000000ull;
  p = put_u32(p, (u32)hi, 1);
  return put_u32(p, (u32)(n - hi * 1000000000ull), 9);
}

/* isoCodes (build-verdict.ts) operation for operation, on doubles: whether ms can be written. */
static i32 iso_ok(f64 ms) { return ms != ms || (ms >= 0 && ms < 253402300800000.0); }

static i32 put_2(i32 p, i32 v) {
  u8 *const o = out;
  o[p++] = (u8)('0' + v / 10 % 10);
  o[p++] = (u8)('0' + v % 10);
  return p;
}

/* A time as a JSON string (`"2026-01-01T00:00:00.000Z"`), or null for NaN; iso_ok(ms) must hold. */
static i32 put_iso(i32 p, f64 ms) {
  u8 *const o = out;
  if (ms != ms) return LIT(p, "null");
  f64 days = __builtin_floor(ms / 86400000);
  f64 rem = ms - days * 86400000;
  f64 z = days + 719468;
  f64 era = __builtin_floor(z / 146097);
  f64 doe = z - era * 146097;
  f64 yoe = __builtin_floor((doe - __builtin_floor(doe / 1460) + __builtin_floor(doe / 36524) - __builtin_floor(doe / 146096)) / 365);
  f64 doy = doe - (365 * yoe + __builtin_floor(yoe / 4) - __builtin_floor(yoe / 100));
  f64 mp = __builtin_floor((5 * doy + 2) / 153);
  f64 day = doy - __builtin_floor((153 * mp + 2) / 5) + 1;
  f64 month = mp < 10 ? mp + 3 : mp - 9;
  f64 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  f64 h = __builtin_floor(rem / 3600000);
  rem -= h * 3600000;
  f64 m = __builtin_floor(rem / 60000);
  rem -= m * 60000;
  f64 sec = __builtin_floor(rem / 1000);
  f64 milli = __builtin_floor(rem - sec * 1000);
  /* Every part is now a whole number in range (years 0-9999): written in 32-bit integers. */
  i32 y = (i32)year, ms3 = (i32)milli;
  o[p++] = '"';
  p = put_2(p, y / 100);
  p = put_2(p, y);
  o[p++] = '-';
  p = put_2(p, (i32)month);
  o[p++] = '-';
  p = put_2(p, (i32)day);
  o[p++] = 'T';
  p = put_2(p, (i32)h);
  o[p++] = ':';
  p = put_2(p, (i32)m);
  o[p++] = ':';
  p = put_2(p, (i32)sec);
  o[p++] = '.';
  o[p++] = (u8)('0' + ms3 / 100 % 10);
  p = put_2(p, ms3);
  o[p++] = 'Z';
  o[p++] = '"';
  return p;
}

/* Sorts xs[0, n) ascending (n is at most a dozen: insertion sort, as sortNumbersInto). */
static void sort_small(f64 *xs, i32 n) {
  for (i32 i = 1; i < n; i++) {
    f64 x = xs[i];
    i32 j = i - 1;
    while (j >= 0 && xs[j] > x) {
      xs[j + 1] = xs[j];
      j--;
    }
    xs[j + 1] = x;
  }
}

/* A JSON array of counts; every one must pass is_count. */
static i32 put_counts_array(i32 p, const f64 *xs, i32 n) {
  u8 *const o = out;
  o[p++] = '[';
  for (i32 i = 0; i < n; i++) {
    if (i > 0) o[p++] = ',';
    p = put_count(p, xs[i]);
  }
  o[p++] = ']';
  return p;
}

/* `,"evidenceLines":[...]` from the n lines of evidence_of. */
static i32 put_evidence_lines(i32 p, const f64 *lines, i32 n) {
  p = LIT(p, ",\"evidenceLines\":");
  return put_counts_array(p, lines, n);
}

/* Row d's evidence line numbers, sorted, into xs; returns how many (-1 when one is not a count). */
static i32 evidence_of(const f64 *row, f64 *xs) {
  f64 seen = row[C_CONNECTIONS] + row[C_BLOCKED];
  if (!is_count(seen)) return -1;
  i32 n = seen < EVIDENCE_LINES ? (i32)seen : EVIDENCE_LINES;
  for (i32 i = 0; i < n; i++) {
    xs[i] = row[C_EVIDENCE + i];
    if (!is_count(xs[i])) return -1;
  }
  sort_small(xs, n);
  return n;
}

/**
 * Destination d's `,"connections":` ... `,"ports":[...]` (its inline ports only: the caller
 * knows it has no others) at out[p]; returns the end, or -1 with nothing written.
 */
EXPORT(put_destination_counts)
i32 put_destination_counts(i32 d, i32 p) {
  const f64 *row = rows + (u32)d * ROW;
  f64 ports[INLINE_PORTS];
  i32 n = 0;
  for (i32 i = 0; i < INLINE_PORTS; i++) {
    f64 port = row[C_PORTS + i];
    if (port >= 0) {
      if (!is_count(port)) return -1;
      ports[n++] = port;
    }
  }
  if (!is_count(row[C_CONNECTIONS]) || !is_count(row[C_BLOCKED]) || !is_count(row[C_SENT]) || !is_count(row[C_RECEIVED]) ||
      !is_count(row[C_UNKNOWN_BYTES]) || !iso_ok(row[C_FIRST]) || !iso_ok(row[C_LAST])) {
    return -1;
  }
  sort_small(ports, n);
  p = LIT(p, ",\"connections\":");
  p = put_count(p, row[C_CONNECTIONS]);
  p = LIT(p, ",\"blockedAttempts\":");
  p = put_count(p, row[C_BLOCKED]);
  p = LIT(p, ",\"bytesSent\":");
  p = put_count(p, row[C_SENT]);
  p = LIT(p, ",\"bytesReceived\":");
  p = put_count(p, row[C_RECEIVED]);
  p = LIT(p, ",\"connectionsWithUnknownBytes\":");
  p = put_count(p, row[C_UNKNOWN_BYTES]);
  p = LIT(p, ",\"firstSeen\":");
  p = put_iso(p, row[C_FIRST]);
  p = LIT(p, ",\"lastSeen\":");
  p = put_iso(p, row[C_LAST]);
  p = LIT(p, ",\"ports\":");
  return put_counts_array(p, ports, n);
}

/**
 * Destination d's `,"protocols":[...],"hostnames":[],"apps":[],"evidenceLines":[...]`, for a
 * destination with no names, no apps and no protocols but tcp, udp and icmp (the caller knows):
 * at out[p]; returns the end, or -1 with nothing written.
 */
EXPORT(put_destination_lists)
i32 put_destination_lists(i32 d, i32 p) {
  u8 *const o = out;
  const f64 *row = rows + (u32)d * ROW;
  f64 lines[EVIDENCE_LINES];
  i32 n = evidence_of(row, lines);
  f64 mask = row[C_PROTO_MASK];
  if (n < 0 || !is_count(mask) || mask > 2147483647.0) return -1;
  i32 m = (i32)mask;
  /* Sorted by name, as JavaScript sorts them: icmp, tcp, udp. */
  static const char *const names[3] = {"\"icmp\"", "\"tcp\"", "\"udp\""};
  static const i32 which[3] = {2, 0, 1};
  i32 bits[3];
  for (i32 k = 0; k < 3; k++) {
    bits[k] = proto_bit[which[k]];
    if (bits[k] >= 0 && (m & (1 << bits[k])) != 0) m &= ~(1 << bits[k]);
    else bits[k] = -1;
  }
  if (m != 0) return -1; /* a protocol only JavaScript can name */
  p = LIT(p, ",\"protocols\":[");
  i32 any = 0;
  for (i32 k = 0; k < 3; k++) {
    if (bits[k] < 0) continue;
    if (any) o[p++] = ',';
    p = put_lit(p, names[k]);
    any = 1;
  }
  p = LIT(p, "],\"hostnames\":[],\"apps\":[]");
  return put_evidence_lines(p, lines, n);
}

/** Destination d's `,"evidenceLines":[...]` at out[p]; returns the end, or -1 with nothing written. */
EXPORT(put_evidence)
i32 put_evidence(i32 d, i32 p) {
  f64 lines[EVIDENCE_LINES];
  i32 n = evidence_of(rows + (u32)d * ROW, lines);
  if (n < 0) return -1;
  return put_evidence_lines(p, lines, n);
}

/**
 * Violation d's `,"bytesSent":N,"connections":N,"evidenceLines":[...]` at out[p]; returns the end,
 * or -1 with nothing written.
 */
EXPORT(put_violation_counts)
i32 put_violation_counts(i32 d, i32 p) {
  const f64 *row = rows + (u32)d * ROW;
  f64 lines[EVIDENCE_LINES];
  i32 n = evidence_of(row, lines);
  if (n < 0 || !is_count(row[C_SENT]) || !is_count(row[C_CONNECTIONS])) return -1;
  p = LIT(p, ",\"bytesSent\":");
  p = put_count(p, row[C_SENT]);
  p = LIT(p, ",\"connections\":");
  p = put_count(p, row[C_CONNECTIONS]);
  return put_evidence_lines(p, lines, n);
}

/*
 * Whole list entries: a destination's or a violation's line of the verdict file, written here
 * from its row and from texts JavaScript spelled once (the parts that repeat from one destination
 * to the next: its judgement, its operator) and its address, also spelled by JavaScript. Only for
 * entries JavaScript described (set_entry_region, describe_text): any other, and any whose numbers
 * the writers above leave to JavaScript, ends a run, and JavaScript writes it.
 */

/*
 * Each destination's description, three words: where its address's text is in entry_ips, with its
 * length in the top 6 bits (0: not described); its destination entry's texts (after the address,
 * after the lists), 16 bits each; its violation entry's.
 */
#define DESC 3
#define IP_LEN_SHIFT 26

static u8 *entry_ips;
static u32 *entry_descs;
/* The two lists' orders (destination numbers in verdict order): destinations, violations. */
static i32 *entry_order[2];
/* Text k is text_bytes[text_at[2k], + text_at[2k + 1]). */
static i32 *text_at;
static u8 *text_bytes;
static i32 entry_end;

EXPORT(set_entry_regions)
void set_entry_regions(u8 *ips_, u32 *descs_, i32 *dest_order, i32 *viol_order, i32 *text_at_, u8 *text_bytes_) {
  entry_ips = ips_;
  entry_descs = descs_;
  entry_order[0] = dest_order;
  entry_order[1] = viol_order;
  text_at = text_at_;
  text_bytes = text_bytes_;
}

/** Where the last put_entries ended. */
EXPORT(entries_end)
i32 entries_end(void) { return entry_end; }

static i32 text_len(i32 t) { return text_at[t * 2 + 1]; }

static i32 put_text(i32 p, i32 t) {
  u8 *const o = out;
  const u8 *s = text_bytes + text_at[t * 2];
  i32 n = text_at[t * 2 + 1];
  for (i32 i = 0; i < n; i++) o[p + i] = s[i];
  return p + n;
}

/*
 * Most bytes an entry's numbers and lists take besides its texts and address: field names, five
 * counts of up to 16 digits, two times, the inline ports, three protocols, ten evidence lines.
 */
#define ENTRY_NUMBERS_BOUND 1024
/* How many entries ahead put_entries brings rows into the cache. */
#define ENTRY_AHEAD 6

/**
 * Writes entries k, k + 1, ... of list `kind` (0 destinations, 1 violations; `total` long) at
 * out[p], each as `    {...}` and `,\n` (`\n` after the last), until one is not described here
 * or has a number JavaScript spells, or the next might not fit below `limit`, or the entries
 * written reach `chunk` bytes (after at least one). Returns the index of the first entry not
 * written; entries_end() is where the writing ended.
 */
EXPORT(put_entries)
i32 put_entries(i32 kind, i32 k, i32 total, i32 p, i32 chunk, i32 limit) {
  u8 *const o = out;
  const i32 *order = entry_order[kind & 1];
  for (; k < total; k++) {
    /*
     * The list is in verdict order, so its rows, descriptions and addresses are read in no order
     * of memory: each a likely cache miss. Those of an entry a few ahead are read now, so that
     * their misses overlap with this entry's writing.
     */
    if (k + ENTRY_AHEAD < total) {
      i32 ahead = order[k + ENTRY_AHEAD];
      const f64 *row = rows + (u32)ahead * ROW;
      const u32 *desc = entry_descs + (u32)ahead * DESC;
      TOUCH(row[0]);
      TOUCH(row[8]);
      TOUCH(row[16]);
      TOUCH(row[24]);
      TOUCH(desc[0]);
    }
    i32 d = order[k];
    const u32 *desc = entry_descs + (u32)d * DESC;
    i32 ip_len = (i32)(desc[0] >> IP_LEN_SHIFT);
    if (ip_len == 0) break;
    const u8 *ip = entry_ips + (desc[0] & ((1u << IP_LEN_SHIFT) - 1));
    u32 texts = desc[kind == 0 ? 1 : 2];
    i32 head = (i32)(texts & 0xffff), tail = (i32)(texts >> 16);
    if (p + 16 + ip_len + text_len(head) + text_len(tail) + ENTRY_NUMBERS_BOUND > limit) break;
    i32 start = p;
    p = LIT(p, "    {\"ip\":\"");
    for (i32 i = 0; i < ip_len; i++) o[p + i] = ip[i];
    p += ip_len;
    o[p++] = '"';
    p = put_text(p, head);
    if (kind == 0) {
      p = put_destination_counts(d, p);
      if (p >= 0) p = put_destination_lists(d, p);
    } else {
      p = put_violation_counts(d, p);
    }
    if (p < 0) {
      p = start;
      break;
    }
    p = put_text(p, tail);
    o[p++] = '}';
    if (k < total - 1) o[p++] = ',';
    o[p++] = '\n';
    if (p >= chunk) {
      k++;
      break;
    }
  }
  entry_end = p;
  return k;
}
