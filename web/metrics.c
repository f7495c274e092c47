/* metrics.c: collects samples and writes the Prometheus text exposition format. */
#define G_LOG_DOMAIN "disco-web"

#include "disco-web.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

struct _DiscoWebMetrics
{
  GString *out;
  GHashTable *seen; /* metric names whose HELP/TYPE were written */
};

DiscoWebMetrics *
disco_web_metrics_new (void)
{
  DiscoWebMetrics *m = g_new0 (DiscoWebMetrics, 1);
  m->out = g_string_new (NULL);
  m->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return m;
}

void
disco_web_metrics_free (DiscoWebMetrics *m)
{
  if (m == NULL)
    return;
  g_string_free (m->out, TRUE);
  g_hash_table_unref (m->seen);
  g_free (m);
}

static void
append_escaped (GString *out, const char *s, gboolean in_label)
{
  for (; *s; s++)
    {
      if (*s == '\\')
        g_string_append (out, "\\\\");
      else if (*s == '\n')
        g_string_append (out, "\\n");
      else if (*s == '"' && in_label)
        g_string_append (out, "\\\"");
      else
        g_string_append_c (out, *s);
    }
}

static gboolean
valid_name (const char *name)
{
  if (!g_str_has_prefix (name, "disco_"))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != ':')
      return FALSE;
  return TRUE;
}

void
disco_web_metrics_add (DiscoWebMetrics *m, const char *name, DiscoWebMetricType type,
                       const char *help, const char *const *labels, double value)
{
  g_return_if_fail (valid_name (name));

  if (!g_hash_table_contains (m->seen, name))
    {
      g_hash_table_add (m->seen, g_strdup (name));
      g_string_append_printf (m->out, "# HELP %s ", name);
      append_escaped (m->out, help, FALSE);
      g_string_append_printf (m->out, "\n# TYPE %s %s\n", name,
                              type == DISCO_WEB_METRIC_COUNTER ? "counter" : "gauge");
    }

  g_string_append (m->out, name);
  if (labels && labels[0])
    {
      g_string_append_c (m->out, '{');
      for (guint i = 0; labels[i] && labels[i + 1]; i += 2)
        {
          if (i)
            g_string_append_c (m->out, ',');
          g_string_append_printf (m->out, "%s=\"", labels[i]);
          append_escaped (m->out, labels[i + 1], TRUE);
          g_string_append_c (m->out, '"');
        }
      g_string_append_c (m->out, '}');
    }

  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (isnan (value))
    strcpy (buf, "NaN");
  else if (isinf (value))
    strcpy (buf, value > 0 ? "+Inf" : "-Inf");
  else
    g_ascii_dtostr (buf, sizeof buf, value);
  g_string_append_printf (m->out, " %s\n", buf);
}

char *
disco_web_metrics_render (DiscoWebMetrics *m)
{
  return g_strdup (m->out->str);
}

void
disco_web_metrics_add_process (DiscoWebMetrics *m)
{
  g_autofree char *stat = NULL;
  long ticks = sysconf (_SC_CLK_TCK);
  long page = sysconf (_SC_PAGESIZE);

  if (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    {
      /* Field 2 (comm) may contain spaces; everything after the last ')' is fixed. */
      const char *rp = strrchr (stat, ')');
      g_auto (GStrv) f = rp ? g_strsplit (rp + 2, " ", -1) : NULL;
      /* After ')' the fields start at 3 (state): utime=14, stime=15, rss=24. */
      if (f && g_strv_length (f) > 21)
        {
          double utime = g_ascii_strtod (f[14 - 3], NULL);
          double stime = g_ascii_strtod (f[15 - 3], NULL);
          double rss = g_ascii_strtod (f[24 - 3], NULL);
          disco_web_metrics_add (m, "disco_process_cpu_seconds_total", DISCO_WEB_METRIC_COUNTER,
                                 "User and system CPU time of this process.", NULL,
                                 (utime + stime) / (double)ticks);
          disco_web_metrics_add (m, "disco_process_resident_memory_bytes", DISCO_WEB_METRIC_GAUGE,
                                 "Resident set size of this process.", NULL, rss * (double)page);
        }
    }

  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  if (dir)
    {
      guint n = 0;
      while (g_dir_read_name (dir))
        n++;
      disco_web_metrics_add (m, "disco_process_open_fds", DISCO_WEB_METRIC_GAUGE,
                             "Open file descriptors of this process.", NULL, n);
    }
}
