/* disco-web.h: the status page of a DisCo daemon.
 *
 * The web module knows nothing about SIP, RELOAD or media: the daemon hands
 * it two callbacks.  One returns the status document (the JSON served at
 * /api/status and rendered by the HTML page), the other appends metric
 * samples for /metrics.  Process-level metrics (CPU, RSS, open files) are
 * added by this module itself.
 *
 * Routes: "/" (HTML), "/assets/..." (embedded GResource), "/api/status"
 * (JSON, schema in docs/status-api.md), "/metrics" (Prometheus text format
 * 0.0.4), "/healthz".  Unknown paths answer 404, methods other than GET and
 * HEAD answer 405.
 *
 * Threading: everything runs on the thread-default main context of the
 * caller of disco_web_server_listen().
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

G_BEGIN_DECLS

typedef struct _DiscoWebServer DiscoWebServer;
typedef struct _DiscoWebMetrics DiscoWebMetrics;

typedef enum
{
  DISCO_WEB_METRIC_COUNTER,
  DISCO_WEB_METRIC_GAUGE,
} DiscoWebMetricType;

/* Returns a new reference to the status object; the web module puts it. */
typedef json_object *(*DiscoWebStatusFunc) (gpointer user_data);

/* Adds samples with disco_web_metrics_add(). */
typedef void (*DiscoWebMetricsFunc) (DiscoWebMetrics *metrics, gpointer user_data);

/* Adds one sample.  @name must start with "disco_".  @labels is NULL or a
 * NULL-terminated list of key, value pairs; values are escaped here.
 * Samples of one name must be added one after another. */
void disco_web_metrics_add (DiscoWebMetrics *metrics, const char *name, DiscoWebMetricType type,
                            const char *help, const char *const *labels, double value);

/* Renders the collected samples in the text exposition format; caller frees. */
char *disco_web_metrics_render (DiscoWebMetrics *metrics);
DiscoWebMetrics *disco_web_metrics_new (void);
void disco_web_metrics_free (DiscoWebMetrics *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoWebMetrics, disco_web_metrics_free)

/* Adds disco_process_* samples read from /proc/self. */
void disco_web_metrics_add_process (DiscoWebMetrics *metrics);

DiscoWebServer *disco_web_server_new (DiscoWebStatusFunc status_func,
                                      DiscoWebMetricsFunc metrics_func, gpointer user_data);

/* Binds @address (port 0 = ephemeral) and starts serving. */
gboolean disco_web_server_listen (DiscoWebServer *server, GInetSocketAddress *address,
                                  GError **error);

/* The address actually bound, or NULL before listen(); transfer none. */
GInetSocketAddress *disco_web_server_get_address (DiscoWebServer *server);

/* Stops listening and closes every connection. */
void disco_web_server_free (DiscoWebServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoWebServer, disco_web_server_free)

G_END_DECLS
