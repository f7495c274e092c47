/* test-sip-media.c: audio through the focus, end to end over SIP.
 *
 * A real phone (baresip, Opus) joins while a sipp caller streams a 440 Hz
 * PCMU tone: the phone must hear 440 Hz and leave cleanly.  Three phones
 * with different tones: each hears the other two and not itself
 * (mix-minus), which proves the mix goes through SIP/SDP set-up. */
#include <gst/gst.h>

#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"
/* A frequency no source uses: the noise floor to compare against. */
#define CONTROL_HZ 1330.0

static guint
local_participants (DiscoTestDaemon *d)
{
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *load = NULL, *n = NULL;
  if (st && json_object_object_get_ex (st, "load", &load)
      && json_object_object_get_ex (load, "participants", &n))
    return (guint)json_object_get_int (n);
  return G_MAXUINT;
}

static DiscoTestDaemon *
spawn (void)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--conference=" CONF, NULL };
  DiscoTestDaemon *d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);
  return d;
}

static void
test_baresip_hears_caller (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn ();
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "10000", NULL };
  g_autoptr (SipTestSipp) caller = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 40, 440, extra);
  g_autoptr (SipTestPhone) phone = sip_test_phone_start (d->sip, "phone", 1000, 6);

  g_assert_cmpint (sip_test_phone_wait (phone, 30000), ==, 0);
  g_autofree char *wav = sip_test_phone_recording (phone);
  g_assert_nonnull (wav);
  double tone = sip_test_tone_power (wav, 440), floor = sip_test_tone_power (wav, CONTROL_HZ);
  g_test_message ("phone heard 440 Hz at %g, control %g", tone, floor);
  g_assert_cmpfloat (tone, >, 20 * floor);
  g_assert_cmpfloat (tone, >, 1e-5);
  /* It hung up: only the sipp caller is left. */
  g_assert_cmpuint (local_participants (d), ==, 1);
  g_assert_cmpint (sip_test_sipp_wait (caller, 40000), ==, 0);
  g_assert_cmpuint (local_participants (d), ==, 0);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

static void
test_three_phones_mix (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn ();
  static const guint tones[] = { 500, 800, 1100 };
  SipTestPhone *phones[3];
  char user[16];
  for (int i = 0; i < 3; i++)
    {
      g_snprintf (user, sizeof user, "phone%d", i);
      phones[i] = sip_test_phone_start (d->sip, user, tones[i], 8);
    }
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (sip_test_phone_wait (phones[i], 30000), ==, 0);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *wav = sip_test_phone_recording (phones[i]);
      g_assert_nonnull (wav);
      double p[3], floor = sip_test_tone_power (wav, CONTROL_HZ);
      for (int j = 0; j < 3; j++)
        p[j] = sip_test_tone_power (wav, tones[j]);
      g_test_message ("phone %d heard %g / %g / %g, control %g", i, p[0], p[1], p[2], floor);
      for (int j = 0; j < 3; j++)
        if (j != i)
          {
            g_assert_cmpfloat (p[j], >, 20 * floor);
            /* Mix-minus: its own tone is much weaker than the others. */
            g_assert_cmpfloat (p[i], <, p[j] / 10);
          }
    }
  for (int i = 0; i < 3; i++)
    sip_test_phone_free (phones[i]);
  g_assert_cmpuint (local_participants (d), ==, 0);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/media/baresip-hears-caller", test_baresip_hears_caller);
  g_test_add_func ("/sip/media/three-phones-mix", test_three_phones_mix);
  return g_test_run ();
}
