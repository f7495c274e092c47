/* sip-test.h: helpers for the SIP focus tests: free ports, sipp runs,
 * status snapshots, scenario paths, tone files.
 *
 * Every sipp run gets its own ports (bound first to check they are free),
 * its own working directory (sipp writes its logs into the cwd) and
 * -nostdin/-timeout, and is judged by its exit code.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

#include "disco-test.h"

G_BEGIN_DECLS

/* json-c has no GLib cleanup function of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_object, json_object_put)

/* A UDP (and TCP) port that was free a moment ago on 127.0.0.1; @span
 * consecutive ports are checked (sipp uses -mp and -mp+2...). */
guint sip_test_free_port (guint span);

/* Absolute path of tests/sip/@name in the source tree; caller frees. */
char *sip_test_scenario (const char *name);

typedef struct
{
  GSubprocess *proc;
  char *dir;  /* cwd: logs, pcap link, tone files */
  guint port; /* -p */
} SipTestSipp;

/* Starts "sipp TARGET -sf SCENARIO -i 127.0.0.1 -p .. -mp .. -ci 127.0.0.1
 * -cp .. -nostdin -timeout T -timeout_error -trace_err" plus @extra. */
/* @tone_hz > 0 writes tone.pcmu (2 s of that sine, raw mu-law) into the
 * cwd first, for scenarios with rtp_stream="tone.pcmu,-1,0". */
SipTestSipp *sip_test_sipp_start (const char *target, const char *scenario, guint timeout_s,
                                  guint tone_hz, const char *const *extra);
/* Waits for exit; returns sipp's exit code (-1 on timeout/kill).  On
 * failure the error log goes to g_test_message. */
int sip_test_sipp_wait (SipTestSipp *s, guint timeout_ms);
void sip_test_sipp_free (SipTestSipp *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SipTestSipp, sip_test_sipp_free)

/* Convenience: start + wait. */
int sip_test_sipp_run (const char *target, const char *scenario, guint timeout_s, guint tone_hz,
                       const char *const *extra);

/* GET /api/status as JSON (NULL on failure). */
json_object *sip_test_status (DiscoTestDaemon *d);
/* The conference object for @uri in a status snapshot (borrowed). */
json_object *sip_test_status_conference (json_object *status, const char *uri);

/* Writes @seconds of a @freq Hz sine as raw G.711 mu-law (8 kHz) to @path,
 * encoded by GStreamer. */
void sip_test_write_pcmu_tone (const char *path, guint freq, guint seconds);

/* A disco-focus configuration file holding @text, in the temp directory:
 * its path, which the caller unlinks and frees. */
char *sip_test_write_config (const char *text);

/* Iterates the default context until @cond(@data) or @timeout_ms. */
gboolean sip_test_wait_until (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms);

/* baresip as a real phone: own config dir (temp), UDP on loopback only,
 * ausine as microphone (@sine_hz), received audio dumped by sndfile,
 * dials sip:conf@@hostport at start and hangs up after @seconds. */
typedef struct
{
  GSubprocess *proc;
  char *dir;
  char *dial; /* baresip's -e command */
  char *user;
  guint sine_hz, seconds;
  gint64 started; /* monotonic, of the current baresip */
  guint spawns;
} SipTestPhone;

SipTestPhone *sip_test_phone_start (const char *hostport, const char *user, guint sine_hz,
                                    guint seconds);
int sip_test_phone_wait (SipTestPhone *p, guint timeout_ms);
/* Path of what the phone heard (WAV), or NULL; caller frees. */
char *sip_test_phone_recording (SipTestPhone *p);
void sip_test_phone_free (SipTestPhone *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SipTestPhone, sip_test_phone_free)

/* Mean Goertzel power of @freq over the second half of a WAV file (mono
 * mixdown, decoded by GStreamer).  Compare frequencies with each other. */
double sip_test_tone_power (const char *wav, double freq);

G_END_DECLS
