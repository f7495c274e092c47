/* test-sip-load.c: 100 concurrent sipp callers, each streaming PCMU RTP for
 * 30 s into one conference; every call must succeed (sipp exit 0) and the
 * focus must have held all 100 at once.  No timing assertions. */
#include <gst/gst.h>

#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"
#define CALLERS 100

typedef struct
{
  DiscoTestDaemon *d;
  guint peak;
} Peak;

static gboolean
all_joined (gpointer data)
{
  Peak *pk = data;
  g_autoptr (json_object) st = sip_test_status (pk->d);
  json_object *load = NULL, *n = NULL;
  if (st && json_object_object_get_ex (st, "load", &load)
      && json_object_object_get_ex (load, "participants", &n))
    pk->peak = MAX (pk->peak, (guint)json_object_get_int (n));
  return pk->peak >= CALLERS;
}

static void
test_hundred_callers (void)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  const char *extra[] = { "-s", "conf", "-m",    "100",         "-l",  "100", "-r",
                          "20", "-d",   "30000", "-trace_stat", "-fd", "5",   NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 120, 440, extra);
  Peak pk = { d, 0 };
  g_assert_true (sip_test_wait_until (all_joined, &pk, 60000));
  g_assert_cmpint (sip_test_sipp_wait (s, 150000), ==, 0);
  g_assert_cmpuint (pk.peak, ==, CALLERS);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 15000), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/load/100-callers-30s", test_hundred_callers);
  return g_test_run ();
}
