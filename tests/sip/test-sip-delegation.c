/* test-sip-delegation.c: call delegation between two real disco-focus
 * daemons serving one conference.
 *
 * Focus B is started first; focus A knows B from [focus] peers, subscribes
 * to B's conference package, and B subscribes back (a focus subscribing
 * with an isfocus Contact is a peer).  A admits one participant; a second
 * caller is accepted and delegated with REFER to B (B has capacity, as B
 * itself reports in dc:foci).  The caller follows the REFER (sipp), B
 * recognises the arriving participant by its Session-ID from A's
 * conference-info, and both foci's merged views show the move.  A phone on
 * B hears the mover after the move, and A's caller through the cascade leg
 * between the two rooms. */
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <string.h>

#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"
#define MOVER_SID "0123456789abcdef0123456789abcdef"
#define MOVER_HZ 660

static gboolean
peer_active (gpointer data)
{
  g_autoptr (json_object) st = sip_test_status (data);
  json_object *conf = sip_test_status_conference (st, CONF), *peers = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "peers", &peers)
      || json_object_array_length (peers) < 1)
    return FALSE;
  json_object *p = json_object_array_get_idx (peers, 0), *active = NULL, *version = NULL;
  return json_object_object_get_ex (p, "active", &active) && json_object_get_boolean (active)
         && json_object_object_get_ex (p, "version", &version)
         && json_object_get_int64 (version) > 0;
}

/* Finds the participant with session_id / uri matching in a status. */
static json_object *
find_participant (json_object *st, const char *key, const char *value)
{
  json_object *conf = sip_test_status_conference (st, CONF), *parts = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &parts))
    return NULL;
  for (size_t i = 0; i < json_object_array_length (parts); i++)
    {
      json_object *p = json_object_array_get_idx (parts, i), *v = NULL;
      if (json_object_object_get_ex (p, key, &v) && json_object_is_type (v, json_type_string)
          && g_str_has_prefix (json_object_get_string (v), value))
        return p;
    }
  return NULL;
}

typedef struct
{
  DiscoTestDaemon *a, *b;
  char *a_uri, *b_uri;
} Pair;

static const char *
str_field (json_object *o, const char *key)
{
  json_object *v = NULL;
  return o && json_object_object_get_ex (o, key, &v) ? json_object_get_string (v) : NULL;
}

/* B serves the mover, knows it came from A; A shows it as B's. */
static gboolean
moved (gpointer data)
{
  Pair *pr = data;
  g_autoptr (json_object) sb = sip_test_status (pr->b);
  g_autoptr (json_object) sa = sip_test_status (pr->a);
  json_object *on_b = find_participant (sb, "session_id", MOVER_SID);
  json_object *on_a = find_participant (sa, "uri", "sip:mover");
  if (on_b == NULL || on_a == NULL)
    return FALSE;
  return g_strcmp0 (str_field (on_b, "delegated_from"), pr->a_uri) == 0
         && g_strcmp0 (str_field (on_b, "focus"), pr->b_uri) == 0
         && g_strcmp0 (str_field (on_a, "focus"), pr->b_uri) == 0;
}

static gboolean
one_local_on_a (gpointer data)
{
  g_autoptr (json_object) st = sip_test_status (data);
  json_object *load = NULL, *n = NULL;
  return st && json_object_object_get_ex (st, "load", &load)
         && json_object_object_get_ex (load, "participants", &n) && json_object_get_int (n) == 1;
}

static void
test_delegate_by_refer (void)
{
  g_autoptr (GError) error = NULL;
  const char *b_args[] = { "--conference=" CONF, "--max-participants=10", NULL };
  g_autoptr (DiscoTestDaemon) b = disco_test_daemon_spawn (b_args, &error);
  g_assert_no_error (error);

  g_autofree char *cfg = g_strdup_printf ("[focus]\npeers = sip:%s\n", b->sip);
  g_autofree char *cfg_path = sip_test_write_config (cfg);
  const char *a_args[]
      = { "--config", cfg_path, "--conference=" CONF, "--max-participants=1", NULL };
  g_autoptr (DiscoTestDaemon) a = disco_test_daemon_spawn (a_args, &error);
  g_assert_no_error (error);

  /* Full mesh of conference subscriptions. */
  g_assert_true (sip_test_wait_until (peer_active, a, 15000));
  g_assert_true (sip_test_wait_until (peer_active, b, 15000));

  /* The first caller fills A. */
  const char *first[] = { "-s", "conf", "-m", "1", "-d", "15000", NULL };
  g_autoptr (SipTestSipp) c1 = sip_test_sipp_start (a->sip, "uac-pcmu.xml", 40, 440, first);
  g_assert_true (sip_test_wait_until (one_local_on_a, a, 10000));

  /* A phone on B listens for the mover's tone once it has moved. */
  g_autoptr (SipTestPhone) phone = sip_test_phone_start (b->sip, "listener", 1000, 9);

  /* The second is delegated to B and follows the REFER. */
  const char *second[] = { "-s", "conf", "-m", "1", "-d", "8000", "-set", "sid", MOVER_SID, NULL };
  g_autoptr (SipTestSipp) c2
      = sip_test_sipp_start (a->sip, "refer-follow.xml", 40, MOVER_HZ, second);
  Pair pr = { a, b, g_strdup_printf ("sip:%s", a->sip), g_strdup_printf ("sip:%s", b->sip) };
  gboolean ok = sip_test_wait_until (moved, &pr, 20000);
  if (!ok)
    {
      g_autoptr (json_object) sa = sip_test_status (a);
      g_autoptr (json_object) sb = sip_test_status (b);
      g_test_message ("A: %s", json_object_to_json_string (sa));
      g_test_message ("B: %s", json_object_to_json_string (sb));
    }
  g_assert_true (ok);
  /* A keeps exactly its first caller locally. */
  g_assert_true (one_local_on_a (a));

  /* A caller that cannot follow REFER is redirected to B instead. */
  const char *third[] = { "-s", "conf", "-m", "1", NULL };
  g_assert_cmpint (sip_test_sipp_run (a->sip, "invite-302.xml", 15, 0, third), ==, 0);

  /* Audio continues through B: the listener hears the mover. */
  g_assert_cmpint (sip_test_phone_wait (phone, 30000), ==, 0);
  g_autofree char *wav = sip_test_phone_recording (phone);
  g_assert_nonnull (wav);
  double tone = sip_test_tone_power (wav, MOVER_HZ), floor = sip_test_tone_power (wav, 1330);
  g_test_message ("listener on B heard %u Hz at %g (control %g)", MOVER_HZ, tone, floor);
  g_assert_cmpfloat (tone, >, 20 * floor);
  /* The first caller stays on A; B hears it over the rooms' cascade leg. */
  double cascaded = sip_test_tone_power (wav, 440);
  g_test_message ("listener on B heard A's 440 Hz caller at %g", cascaded);
  g_assert_cmpfloat (cascaded, >, 20 * floor);

  g_assert_cmpint (sip_test_sipp_wait (c2, 40000), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (c1, 40000), ==, 0);
  g_free (pr.a_uri);
  g_free (pr.b_uri);
  g_assert_cmpint (disco_test_daemon_stop (a, SIGTERM, 10000), ==, 0);
  g_assert_cmpint (disco_test_daemon_stop (b, SIGTERM, 10000), ==, 0);
  g_unlink (cfg_path);
}

static gboolean
gap_recovered (gpointer data)
{
  g_autoptr (json_object) st = sip_test_status (data);
  json_object *conf = sip_test_status_conference (st, CONF), *peers = NULL, *v = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "peers", &peers)
      || json_object_array_length (peers) != 1)
    return FALSE;
  json_object *peer = json_object_array_get_idx (peers, 0);
  if (!json_object_object_get_ex (peer, "refreshes", &v) || json_object_get_int (v) < 1
      || !json_object_object_get_ex (peer, "version", &v) || json_object_get_int (v) != 4)
    return FALSE;
  json_object *r1 = find_participant (st, "uri", "sip:remote1@192.0.2.1");
  json_object *r2 = find_participant (st, "uri", "sip:remote2@192.0.2.2");
  return r1 && r2 && json_object_object_get_ex (r2, "local", &v) && !json_object_get_boolean (v)
         && g_strcmp0 (str_field (r2, "codec"), "opus") == 0;
}

/* Focus-to-focus consumer: full document, then a partial one after a lost
 * version: the focus refreshes its subscription (RFC 4575 §4.6) and merges
 * the new full state into its view. */
static void
test_peer_version_gap (void)
{
  g_autoptr (GError) error = NULL;
  const char *peer_args[] = { "-m", "1", NULL };
  g_autoptr (SipTestSipp) peer = sip_test_sipp_start ("", "fake-peer-focus.xml", 60, 0, peer_args);
  g_autofree char *cfg = g_strdup_printf ("[focus]\npeers = sip:127.0.0.1:%u\n", peer->port);
  g_autofree char *cfg_path = sip_test_write_config (cfg);
  const char *args[] = { "--config", cfg_path, "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) a = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  gboolean ok = sip_test_wait_until (gap_recovered, a, 15000);
  if (!ok)
    {
      g_autoptr (json_object) st = sip_test_status (a);
      g_test_message ("status: %s", json_object_to_json_string (st));
    }
  g_assert_true (ok);
  g_assert_cmpint (disco_test_daemon_stop (a, SIGTERM, 10000), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (peer, 30000), ==, 0);
  g_unlink (cfg_path);
}

/* A focus that leaves hands its participants to another focus first
 * (disco.md §5.4): the caller follows the REFER and B recognises it. */
static void
test_drain_on_shutdown (void)
{
  g_autoptr (GError) error = NULL;
  const char *b_args[] = { "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) b = disco_test_daemon_spawn (b_args, &error);
  g_assert_no_error (error);
  g_autofree char *cfg = g_strdup_printf ("[focus]\npeers = sip:%s\n", b->sip);
  g_autofree char *cfg_path = sip_test_write_config (cfg);
  const char *a_args[] = { "--config", cfg_path, "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) a = disco_test_daemon_spawn (a_args, &error);
  g_assert_no_error (error);
  g_assert_true (sip_test_wait_until (peer_active, a, 15000));
  g_assert_true (sip_test_wait_until (peer_active, b, 15000));

  const char *mover[] = { "-s", "conf", "-m", "1", "-d", "4000", "-set", "sid", MOVER_SID, NULL };
  g_autoptr (SipTestSipp) c = sip_test_sipp_start (a->sip, "refer-follow.xml", 40, MOVER_HZ, mover);
  g_assert_true (sip_test_wait_until (one_local_on_a, a, 10000));

  g_assert_cmpint (disco_test_daemon_stop (a, SIGTERM, 10000), ==, 0);
  g_autoptr (json_object) st = sip_test_status (b);
  json_object *on_b = find_participant (st, "session_id", MOVER_SID);
  g_assert_nonnull (on_b);
  g_autofree char *a_uri = g_strdup_printf ("sip:%s", a->sip);
  g_assert_cmpstr (str_field (on_b, "delegated_from"), ==, a_uri);
  g_assert_cmpint (sip_test_sipp_wait (c, 40000), ==, 0);
  g_assert_cmpint (disco_test_daemon_stop (b, SIGTERM, 10000), ==, 0);
  g_unlink (cfg_path);
}

typedef struct
{
  DiscoTestDaemon *d;
  char *uri;
  const char *key;
  const char *want; /* string value, or NULL: "delegations_failed" >= 1 */
} Expect;

static gboolean
participant_has (gpointer data)
{
  Expect *e = data;
  g_autoptr (json_object) st = sip_test_status (e->d);
  json_object *conf = sip_test_status_conference (st, CONF), *parts = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &parts))
    return FALSE;
  for (size_t i = 0; i < json_object_array_length (parts); i++)
    {
      json_object *p = json_object_array_get_idx (parts, i), *v = NULL;
      if (g_strcmp0 (str_field (p, "uri"), e->uri) != 0)
        continue;
      if (e->want)
        return g_strcmp0 (str_field (p, e->key), e->want) == 0;
      return json_object_object_get_ex (p, e->key, &v) && json_object_get_int (v) >= 1
             && str_field (p, "delegating_to") == NULL
             && g_strcmp0 (str_field (p, "status"), "connected") == 0;
    }
  return FALSE;
}

static gboolean
wait_or_dump (Expect *e, guint timeout_ms)
{
  if (sip_test_wait_until (participant_has, e, timeout_ms))
    return TRUE;
  g_autoptr (json_object) st = sip_test_status (e->d);
  g_test_message ("no %s with %s: %s", e->uri, e->key, json_object_to_json_string (st));
  return FALSE;
}

/* Delegation that does not happen.  A is full and knows a peer with room
 * (a fake focus that only publishes its state).  One caller reports the
 * REFER failed (final sipfrag 503), another never reports a final result:
 * A keeps both (no BYE; the scenarios fail on one), the second after its
 * own REFER timer.  A participant arriving with Replaces for a dialog the
 * peer reports as its own is recognised as delegated from that peer. */
static void
test_delegation_failures (void)
{
  g_autoptr (GError) error = NULL;
  const char *peer_args[] = { "-m", "1", NULL };
  g_autoptr (SipTestSipp) peer = sip_test_sipp_start ("", "fake-peer-idle.xml", 180, 0, peer_args);
  g_autofree char *cfg = g_strdup_printf ("[focus]\npeers = sip:127.0.0.1:%u\n", peer->port);
  g_autofree char *cfg_path = sip_test_write_config (cfg);
  const char *args[] = { "--config", cfg_path, "--conference=" CONF, "--max-participants=1", NULL };
  g_autoptr (DiscoTestDaemon) a = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);
  g_assert_true (sip_test_wait_until (peer_active, a, 20000));

  const char *first[] = { "-s", "conf", "-m", "1", "-d", "60000", NULL };
  g_autoptr (SipTestSipp) c1 = sip_test_sipp_start (a->sip, "uac-pcmu.xml", 120, 440, first);
  g_assert_true (sip_test_wait_until (one_local_on_a, a, 20000));

  const char *fail_args[] = { "-s", "conf", "-m", "1", "-d", "3000", NULL };
  const char *silent_args[] = { "-s", "conf", "-m", "1", "-d", "50000", NULL };
  g_autoptr (SipTestSipp) c2 = sip_test_sipp_start (a->sip, "refer-fail.xml", 60, 0, fail_args);
  g_autoptr (SipTestSipp) c3
      = sip_test_sipp_start (a->sip, "refer-silent.xml", 120, 0, silent_args);
  Expect failed
      = { a, g_strdup_printf ("sip:stayer1@127.0.0.1:%u", c2->port), "delegations_failed", NULL };
  g_assert_true (wait_or_dump (&failed, 30000));
  g_assert_cmpint (sip_test_sipp_wait (c2, 60000), ==, 0);

  /* With Replaces naming the peer's dialog of remote1. */
  const char *rep_args[] = { "-s", "conf", "-m", "1", "-d", "3000", NULL };
  g_autoptr (SipTestSipp) c4 = sip_test_sipp_start (a->sip, "replaces-remote.xml", 60, 0, rep_args);
  g_autofree char *peer_uri = g_strdup_printf ("sip:127.0.0.1:%u", peer->port);
  Expect from_peer
      = { a, g_strdup_printf ("sip:remote1@127.0.0.1:%u", c4->port), "delegated_from", peer_uri };
  g_assert_true (wait_or_dump (&from_peer, 30000));
  g_assert_cmpint (sip_test_sipp_wait (c4, 60000), ==, 0);

  /* The silent one: A's timer (40 s) gives up and keeps it. */
  Expect timed_out
      = { a, g_strdup_printf ("sip:stayer1@127.0.0.1:%u", c3->port), "delegations_failed", NULL };
  g_assert_true (wait_or_dump (&timed_out, 90000));
  g_assert_cmpint (sip_test_sipp_wait (c3, 120000), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (c1, 120000), ==, 0);

  g_free (failed.uri);
  g_free (from_peer.uri);
  g_free (timed_out.uri);
  g_assert_cmpint (disco_test_daemon_stop (a, SIGTERM, 10000), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (peer, 30000), ==, 0);
  g_unlink (cfg_path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/delegation/refer-a-to-b", test_delegate_by_refer);
  g_test_add_func ("/sip/peers/version-gap-refresh", test_peer_version_gap);
  g_test_add_func ("/sip/delegation/drain-on-shutdown", test_drain_on_shutdown);
  g_test_add_func ("/sip/delegation/failures-keep-participant", test_delegation_failures);
  return g_test_run ();
}
