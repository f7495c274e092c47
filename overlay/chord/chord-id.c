/* chord-id.c: arithmetic on 128-bit identifiers modulo 2^128. */
#define G_LOG_DOMAIN "disco-chord"

#include "disco-chord.h"

#include <string.h>

G_STATIC_ASSERT (DISCO_RELOAD_NODE_ID_LENGTH == 16);

typedef struct
{
  guint64 hi, lo;
} U128;

static U128
load (const DiscoReloadNodeId *id)
{
  U128 v = { 0, 0 };
  for (int i = 0; i < 8; i++)
    v.hi = (v.hi << 8) | id->id[i];
  for (int i = 8; i < 16; i++)
    v.lo = (v.lo << 8) | id->id[i];
  return v;
}

static void
store (U128 v, DiscoReloadNodeId *out)
{
  for (int i = 7; i >= 0; i--, v.hi >>= 8)
    out->id[i] = v.hi & 0xff;
  for (int i = 15; i >= 8; i--, v.lo >>= 8)
    out->id[i] = v.lo & 0xff;
}

static U128
sub (U128 a, U128 b)
{
  U128 r = { a.hi - b.hi - (a.lo < b.lo ? 1 : 0), a.lo - b.lo };
  return r;
}

static int
cmp (U128 a, U128 b)
{
  if (a.hi != b.hi)
    return a.hi < b.hi ? -1 : 1;
  if (a.lo != b.lo)
    return a.lo < b.lo ? -1 : 1;
  return 0;
}

int
disco_chord_id_compare (const DiscoReloadNodeId *a, const DiscoReloadNodeId *b)
{
  int c = memcmp (a->id, b->id, sizeof a->id);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

void
disco_chord_id_distance (const DiscoReloadNodeId *a, const DiscoReloadNodeId *b,
                         DiscoReloadNodeId *out)
{
  store (sub (load (b), load (a)), out);
}

gboolean
disco_chord_id_in_range (const DiscoReloadNodeId *x, const DiscoReloadNodeId *from,
                         const DiscoReloadNodeId *to)
{
  U128 f = load (from);
  U128 span = sub (load (to), f);
  U128 off = sub (load (x), f);

  if (span.hi == 0 && span.lo == 0)
    return TRUE;
  if (off.hi == 0 && off.lo == 0)
    return FALSE;
  return cmp (off, span) <= 0;
}

void
disco_chord_id_add_pow2 (const DiscoReloadNodeId *id, guint exponent, DiscoReloadNodeId *out)
{
  U128 v = load (id);
  U128 add = { 0, 0 };

  g_return_if_fail (exponent < 128);
  if (exponent >= 64)
    add.hi = G_GUINT64_CONSTANT (1) << (exponent - 64);
  else
    add.lo = G_GUINT64_CONSTANT (1) << exponent;
  U128 r = { v.hi + add.hi, v.lo + add.lo };
  if (r.lo < v.lo)
    r.hi++;
  store (r, out);
}

gboolean
disco_chord_id_from_resource (const DiscoReloadResourceId *rid, DiscoReloadNodeId *out)
{
  if (rid->len != DISCO_RELOAD_NODE_ID_LENGTH)
    return FALSE;
  memcpy (out->id, rid->id, DISCO_RELOAD_NODE_ID_LENGTH);
  return TRUE;
}
