/* vivaldi.c: see disco-vivaldi.h. */
#define G_LOG_DOMAIN "disco-vivaldi"

#include "disco-vivaldi.h"

#include <math.h>
#include <string.h>

/* Constants of the paper (and Serf's defaults). */
#define VIVALDI_CC 0.25
#define VIVALDI_CE 0.25
/* Below this distance (ms) two coordinates count as coincident. */
#define VIVALDI_ZERO 1.0e-6
#define FILTER_LEN 3

G_DEFINE_QUARK (disco - vivaldi - error - quark, disco_vivaldi_error)

typedef struct
{
  double rtt[FILTER_LEN];
  guint n, next;
} PeerFilter;

struct _DiscoVivaldi
{
  DiscoVivaldiCoord coord;
  GRand *rand;
  GHashTable *filters; /* peer -> PeerFilter */
  guint updates;
};

DiscoVivaldi *
disco_vivaldi_new (guint32 seed)
{
  DiscoVivaldi *v = g_new0 (DiscoVivaldi, 1);
  v->coord.height = DISCO_VIVALDI_MIN_HEIGHT;
  v->coord.error = DISCO_VIVALDI_MAX_ERROR;
  v->rand = g_rand_new_with_seed (seed);
  v->filters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return v;
}

void
disco_vivaldi_free (DiscoVivaldi *v)
{
  if (v == NULL)
    return;
  g_rand_free (v->rand);
  g_hash_table_destroy (v->filters);
  g_free (v);
}

const DiscoVivaldiCoord *
disco_vivaldi_get (DiscoVivaldi *v)
{
  return &v->coord;
}

guint
disco_vivaldi_updates (DiscoVivaldi *v)
{
  return v->updates;
}

static double
vec_norm (const double *d)
{
  double s = 0;
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    s += d[i] * d[i];
  return sqrt (s);
}

double
disco_vivaldi_predict (const DiscoVivaldiCoord *a, const DiscoVivaldiCoord *b)
{
  double d[DISCO_VIVALDI_DIMS];
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    d[i] = a->vec[i] - b->vec[i];
  return vec_norm (d) + a->height + b->height;
}

gboolean
disco_vivaldi_coord_valid (const DiscoVivaldiCoord *c, GError **error)
{
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    if (!isfinite (c->vec[i]) || fabs (c->vec[i]) > DISCO_VIVALDI_MAX_MS)
      {
        g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VALUE,
                     "coordinate dimension %d is not a finite value within ±%g ms", i,
                     DISCO_VIVALDI_MAX_MS);
        return FALSE;
      }
  if (!isfinite (c->height) || c->height < 0 || c->height > DISCO_VIVALDI_MAX_MS)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VALUE,
                   "coordinate height is not a finite value in 0..%g ms", DISCO_VIVALDI_MAX_MS);
      return FALSE;
    }
  if (!isfinite (c->error) || c->error < 0 || c->error > DISCO_VIVALDI_MAX_ERROR)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VALUE,
                   "coordinate error estimate is not a finite value in 0..%g",
                   DISCO_VIVALDI_MAX_ERROR);
      return FALSE;
    }
  return TRUE;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of the peer's last FILTER_LEN samples including @rtt. */
static double
filter_sample (DiscoVivaldi *v, const char *peer, double rtt)
{
  PeerFilter *f = g_hash_table_lookup (v->filters, peer);
  if (f == NULL)
    {
      f = g_new0 (PeerFilter, 1);
      g_hash_table_insert (v->filters, g_strdup (peer), f);
    }
  f->rtt[f->next] = rtt;
  f->next = (f->next + 1) % FILTER_LEN;
  f->n = MIN (f->n + 1, FILTER_LEN);
  double sorted[FILTER_LEN];
  memcpy (sorted, f->rtt, f->n * sizeof (double));
  qsort (sorted, f->n, sizeof (double), cmp_double);
  return sorted[f->n / 2];
}

gboolean
disco_vivaldi_observe (DiscoVivaldi *v, const char *peer, double rtt_ms,
                       const DiscoVivaldiCoord *remote, GError **error)
{
  if (!isfinite (rtt_ms) || rtt_ms <= 0 || rtt_ms > DISCO_VIVALDI_MAX_MS)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VALUE,
                   "RTT sample %g ms is not a positive finite value", rtt_ms);
      return FALSE;
    }
  if (!disco_vivaldi_coord_valid (remote, error))
    return FALSE;
  double rtt = peer ? filter_sample (v, peer, rtt_ms) : rtt_ms;

  DiscoVivaldiCoord *me = &v->coord;
  double esum = me->error + remote->error;
  double w = esum > 0 ? me->error / esum : 0.5;
  double dist = disco_vivaldi_predict (me, remote);
  double es = fabs (dist - rtt) / rtt;
  me->error = MIN (es * VIVALDI_CE * w + me->error * (1 - VIVALDI_CE * w), DISCO_VIVALDI_MAX_ERROR);

  /* The unit vector of [x_i − x_j, h_i + h_j] in the height space. */
  double d[DISCO_VIVALDI_DIMS];
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    d[i] = me->vec[i] - remote->vec[i];
  double dn = vec_norm (d);
  if (dn < VIVALDI_ZERO)
    {
      /* Coincident: push apart in a random direction, or two hosts that
       * start at the origin would never separate. */
      double a = g_rand_double_range (v->rand, 0, 2 * G_PI);
      d[0] = cos (a);
      d[1] = sin (a);
      for (int i = 2; i < DISCO_VIVALDI_DIMS; i++)
        d[i] = 0;
      dn = 1;
    }
  double hsum = me->height + remote->height;
  double norm = dn + hsum;
  double force = VIVALDI_CC * w * (rtt - dist);
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    me->vec[i]
        = CLAMP (me->vec[i] + force * d[i] / norm, -DISCO_VIVALDI_MAX_MS, DISCO_VIVALDI_MAX_MS);
  me->height
      = CLAMP (me->height + force * hsum / norm, DISCO_VIVALDI_MIN_HEIGHT, DISCO_VIVALDI_MAX_MS);
  v->updates++;
  return TRUE;
}

static void
put_f32 (guint8 *p, double value)
{
  float f = (float)value;
  guint32 u;
  memcpy (&u, &f, sizeof u);
  u = GUINT32_TO_BE (u);
  memcpy (p, &u, sizeof u);
}

static double
get_f32 (const guint8 *p)
{
  guint32 u;
  float f;
  memcpy (&u, p, sizeof u);
  u = GUINT32_FROM_BE (u);
  memcpy (&f, &u, sizeof f);
  return f;
}

GBytes *
disco_vivaldi_encode (const DiscoVivaldiCoord *c)
{
  guint8 buf[DISCO_VIVALDI_ENCODED_SIZE];
  buf[0] = DISCO_VIVALDI_TYPE;
  buf[1] = DISCO_VIVALDI_VERSION;
  buf[2] = DISCO_VIVALDI_DIMS;
  guint8 *p = buf + 3;
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++, p += 4)
    put_f32 (p, c->vec[i]);
  put_f32 (p, c->height);
  put_f32 (p + 4, c->error);
  return g_bytes_new (buf, sizeof buf);
}

gboolean
disco_vivaldi_decode (const guint8 *data, gsize len, DiscoVivaldiCoord *out, GError **error)
{
  if (data == NULL || len < 3)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_TRUNCATED,
                   "coordinate of %" G_GSIZE_FORMAT " bytes has no header", len);
      return FALSE;
    }
  if (data[0] != DISCO_VIVALDI_TYPE)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_TYPE,
                   "coordinate type %u is not Vivaldi (%u)", data[0], DISCO_VIVALDI_TYPE);
      return FALSE;
    }
  if (data[1] != DISCO_VIVALDI_VERSION)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VERSION,
                   "Vivaldi coordinate version %u is unknown", data[1]);
      return FALSE;
    }
  if (data[2] != DISCO_VIVALDI_DIMS)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VERSION,
                   "Vivaldi coordinate with %u dimensions, only %d are supported", data[2],
                   DISCO_VIVALDI_DIMS);
      return FALSE;
    }
  if (len != DISCO_VIVALDI_ENCODED_SIZE)
    {
      g_set_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_TRUNCATED,
                   "Vivaldi coordinate of %" G_GSIZE_FORMAT " bytes, expected %d", len,
                   DISCO_VIVALDI_ENCODED_SIZE);
      return FALSE;
    }
  DiscoVivaldiCoord c;
  const guint8 *p = data + 3;
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++, p += 4)
    c.vec[i] = get_f32 (p);
  c.height = get_f32 (p);
  c.error = get_f32 (p + 4);
  if (!disco_vivaldi_coord_valid (&c, error))
    return FALSE;
  *out = c;
  return TRUE;
}
