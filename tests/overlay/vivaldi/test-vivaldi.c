/* test-vivaldi.c: Vivaldi coordinates: convergence on a synthetic network,
 * the wire form and its strict decoding. */
#include <math.h>
#include <string.h>

#include "disco-vivaldi.h"

#define HOSTS 8

/* Hosts on a plane (ms) with access-link heights: the true RTT is exactly
 * embeddable in 2-D + height, so Vivaldi must find it. */
static const double pos[HOSTS][2] = { { 0, 0 },   { 40, 5 },  { 80, 10 }, { 10, 60 },
                                      { 55, 70 }, { 90, 90 }, { 30, 30 }, { 70, 40 } };
static const double height[HOSTS] = { 2, 5, 1, 8, 3, 4, 6, 2 };

static double
true_rtt (int i, int j)
{
  return hypot (pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]) + height[i] + height[j];
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double
median_relative_error (DiscoVivaldi **v)
{
  double err[HOSTS * (HOSTS - 1) / 2];
  int n = 0;
  for (int i = 0; i < HOSTS; i++)
    for (int j = i + 1; j < HOSTS; j++)
      {
        double p = disco_vivaldi_predict (disco_vivaldi_get (v[i]), disco_vivaldi_get (v[j]));
        err[n++] = fabs (p - true_rtt (i, j)) / true_rtt (i, j);
      }
  qsort (err, n, sizeof err[0], cmp_double);
  return err[n / 2];
}

/* Every round, each host measures one random other host, with a little
 * noise and the odd delayed answer (which the per-peer median removes). */
static void
run_rounds (DiscoVivaldi **v, GRand *rand, int rounds)
{
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < HOSTS; i++)
      {
        int j = g_rand_int_range (rand, 0, HOSTS - 1);
        if (j >= i)
          j++;
        double rtt = true_rtt (i, j) * g_rand_double_range (rand, 0.97, 1.03);
        if (g_rand_int_range (rand, 0, 20) == 0)
          rtt *= 5;
        char peer[8];
        g_snprintf (peer, sizeof peer, "h%d", j);
        DiscoVivaldiCoord remote = *disco_vivaldi_get (v[j]);
        g_autoptr (GError) error = NULL;
        g_assert_true (disco_vivaldi_observe (v[i], peer, rtt, &remote, &error));
        g_assert_no_error (error);
      }
}

static void
test_converges (void)
{
  DiscoVivaldi *v[HOSTS];
  g_autoptr (GRand) rand = g_rand_new_with_seed (6);
  for (int i = 0; i < HOSTS; i++)
    v[i] = disco_vivaldi_new (100 + i);

  /* All start at the origin: only the random push separates them. */
  double start = median_relative_error (v);
  run_rounds (v, rand, 400);
  double end = median_relative_error (v);
  g_test_message ("median relative error: %.3f at start, %.3f after 400 rounds", start, end);
  g_assert_cmpfloat (start, >, 0.5);
  g_assert_cmpfloat (end, <, 0.10);
  for (int i = 0; i < HOSTS; i++)
    {
      const DiscoVivaldiCoord *c = disco_vivaldi_get (v[i]);
      g_assert_true (disco_vivaldi_coord_valid (c, NULL));
      g_assert_cmpfloat (c->height, >=, DISCO_VIVALDI_MIN_HEIGHT);
      /* The estimate follows the accuracy down from the start value. */
      g_assert_cmpfloat (c->error, <, 0.3);
      g_assert_cmpuint (disco_vivaldi_updates (v[i]), >, 0);
    }
  for (int i = 0; i < HOSTS; i++)
    disco_vivaldi_free (v[i]);
}

static void
test_coincident (void)
{
  g_autoptr (DiscoVivaldi) a = disco_vivaldi_new (1);
  DiscoVivaldiCoord origin = { { 0, 0 }, DISCO_VIVALDI_MIN_HEIGHT, DISCO_VIVALDI_MAX_ERROR };
  g_assert_true (disco_vivaldi_observe (a, NULL, 50, &origin, NULL));
  const DiscoVivaldiCoord *c = disco_vivaldi_get (a);
  g_assert_true (disco_vivaldi_coord_valid (c, NULL));
  g_assert_cmpfloat (disco_vivaldi_predict (c, &origin), >, 1.0);
}

static void
test_predict (void)
{
  DiscoVivaldiCoord a = { { 0, 0 }, 2, 0.1 };
  DiscoVivaldiCoord b = { { 3, 4 }, 1, 0.1 };
  g_assert_cmpfloat_with_epsilon (disco_vivaldi_predict (&a, &b), 8.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (disco_vivaldi_predict (&b, &a), 8.0, 1e-9);
}

static void
test_bad_sample (void)
{
  g_autoptr (DiscoVivaldi) v = disco_vivaldi_new (2);
  DiscoVivaldiCoord ok = { { 10, 10 }, 1, 0.5 };
  g_assert_true (disco_vivaldi_observe (v, "p", 30, &ok, NULL));
  DiscoVivaldiCoord before = *disco_vivaldi_get (v);
  const double bad_rtt[] = { NAN, INFINITY, -1, 0 };
  for (guint i = 0; i < G_N_ELEMENTS (bad_rtt); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (disco_vivaldi_observe (v, "p", bad_rtt[i], &ok, &error));
      g_assert_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VALUE);
    }
  DiscoVivaldiCoord nan_remote = { { NAN, 0 }, 1, 0.5 };
  DiscoVivaldiCoord neg_height = { { 0, 0 }, -1, 0.5 };
  DiscoVivaldiCoord big_error = { { 0, 0 }, 1, 7 };
  const DiscoVivaldiCoord *bad[] = { &nan_remote, &neg_height, &big_error };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (disco_vivaldi_observe (v, "p", 30, bad[i], &error));
      g_assert_error (error, DISCO_VIVALDI_ERROR, DISCO_VIVALDI_ERROR_VALUE);
    }
  g_assert_cmpmem (&before, sizeof before, disco_vivaldi_get (v), sizeof before);
  g_assert_cmpuint (disco_vivaldi_updates (v), ==, 1);
}

static void
test_round_trip (void)
{
  DiscoVivaldiCoord c = { { -12.5, 340.25 }, 3.75, 0.125 };
  g_autoptr (GBytes) b = disco_vivaldi_encode (&c);
  gsize len;
  const guint8 *p = g_bytes_get_data (b, &len);
  g_assert_cmpuint (len, ==, DISCO_VIVALDI_ENCODED_SIZE);
  g_assert_cmpuint (len, ==, 19);
  g_assert_cmpuint (p[0], ==, DISCO_VIVALDI_TYPE);
  g_assert_cmpuint (p[1], ==, DISCO_VIVALDI_VERSION);
  g_assert_cmpuint (p[2], ==, 2);
  /* -12.5f in network order. */
  const guint8 x0[] = { 0xc1, 0x48, 0x00, 0x00 };
  g_assert_cmpmem (p + 3, 4, x0, 4);

  DiscoVivaldiCoord d;
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_vivaldi_decode (p, len, &d, &error));
  g_assert_no_error (error);
  /* All values above are exact in float32. */
  g_assert_cmpmem (&c, sizeof c, &d, sizeof d);

  /* Rounding to float32 keeps an arbitrary coordinate within 1e-6 relative. */
  DiscoVivaldiCoord e = { { 1.0 / 3, 123.456789 }, 0.0123, 0.987654 };
  g_autoptr (GBytes) eb = disco_vivaldi_encode (&e);
  g_assert_true (
      disco_vivaldi_decode (g_bytes_get_data (eb, NULL), g_bytes_get_size (eb), &d, NULL));
  g_assert_cmpfloat_with_epsilon (d.vec[1], e.vec[1], 1e-4);
  g_assert_cmpfloat_with_epsilon (d.height, e.height, 1e-6);
}

static void
expect_refused (const guint8 *data, gsize len, int code)
{
  DiscoVivaldiCoord out = { { 7, 7 }, 7, 0.7 };
  DiscoVivaldiCoord untouched = out;
  g_autoptr (GError) error = NULL;
  g_assert_false (disco_vivaldi_decode (data, len, &out, &error));
  g_assert_error (error, DISCO_VIVALDI_ERROR, code);
  g_assert_cmpmem (&out, sizeof out, &untouched, sizeof out);
}

static void
test_decode_rejects (void)
{
  DiscoVivaldiCoord c = { { 1, 2 }, 3, 0.5 };
  g_autoptr (GBytes) b = disco_vivaldi_encode (&c);
  guint8 good[DISCO_VIVALDI_ENCODED_SIZE + 1];
  memcpy (good, g_bytes_get_data (b, NULL), DISCO_VIVALDI_ENCODED_SIZE);
  good[DISCO_VIVALDI_ENCODED_SIZE] = 0;
  guint8 buf[sizeof good];

  expect_refused (NULL, 0, DISCO_VIVALDI_ERROR_TRUNCATED);
  /* Every truncation, and one byte too many. */
  for (gsize n = 0; n < DISCO_VIVALDI_ENCODED_SIZE; n++)
    expect_refused (good, n, DISCO_VIVALDI_ERROR_TRUNCATED);
  expect_refused (good, DISCO_VIVALDI_ENCODED_SIZE + 1, DISCO_VIVALDI_ERROR_TRUNCATED);

  memcpy (buf, good, sizeof buf);
  buf[0] = 2; /* landmarks */
  expect_refused (buf, DISCO_VIVALDI_ENCODED_SIZE, DISCO_VIVALDI_ERROR_TYPE);
  buf[0] = 0;
  expect_refused (buf, DISCO_VIVALDI_ENCODED_SIZE, DISCO_VIVALDI_ERROR_TYPE);

  memcpy (buf, good, sizeof buf);
  buf[1] = 2;
  expect_refused (buf, DISCO_VIVALDI_ENCODED_SIZE, DISCO_VIVALDI_ERROR_VERSION);
  memcpy (buf, good, sizeof buf);
  buf[2] = 3;
  expect_refused (buf, DISCO_VIVALDI_ENCODED_SIZE, DISCO_VIVALDI_ERROR_VERSION);
  buf[2] = 255;
  expect_refused (buf, sizeof buf, DISCO_VIVALDI_ERROR_VERSION);

  /* NaN, +inf and -inf in each float slot; a negative height and error. */
  const guint8 nan_be[] = { 0x7f, 0xc0, 0x00, 0x00 };
  const guint8 inf_be[] = { 0x7f, 0x80, 0x00, 0x00 };
  const guint8 ninf_be[] = { 0xff, 0x80, 0x00, 0x00 };
  const guint8 neg_be[] = { 0xbf, 0x80, 0x00, 0x00 };  /* -1.0 */
  const guint8 huge_be[] = { 0x4e, 0x6e, 0x6b, 0x28 }; /* 1e9 */
  for (int slot = 0; slot < DISCO_VIVALDI_DIMS + 2; slot++)
    {
      const guint8 *bad[] = { nan_be, inf_be, ninf_be, huge_be };
      for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
        {
          memcpy (buf, good, sizeof buf);
          memcpy (buf + 3 + 4 * slot, bad[k], 4);
          expect_refused (buf, DISCO_VIVALDI_ENCODED_SIZE, DISCO_VIVALDI_ERROR_VALUE);
        }
    }
  for (int slot = DISCO_VIVALDI_DIMS; slot < DISCO_VIVALDI_DIMS + 2; slot++)
    {
      memcpy (buf, good, sizeof buf);
      memcpy (buf + 3 + 4 * slot, neg_be, 4);
      expect_refused (buf, DISCO_VIVALDI_ENCODED_SIZE, DISCO_VIVALDI_ERROR_VALUE);
    }
  /* A negative dimension is a fine position. */
  memcpy (buf, good, sizeof buf);
  memcpy (buf + 3, neg_be, 4);
  DiscoVivaldiCoord d;
  g_assert_true (disco_vivaldi_decode (buf, DISCO_VIVALDI_ENCODED_SIZE, &d, NULL));
  g_assert_cmpfloat (d.vec[0], ==, -1.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vivaldi/update/converges", test_converges);
  g_test_add_func ("/vivaldi/update/coincident", test_coincident);
  g_test_add_func ("/vivaldi/update/bad-sample", test_bad_sample);
  g_test_add_func ("/vivaldi/predict", test_predict);
  g_test_add_func ("/vivaldi/encoding/round-trip", test_round_trip);
  g_test_add_func ("/vivaldi/encoding/rejects", test_decode_rejects);
  return g_test_run ();
}
