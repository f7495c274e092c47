/* disco-gst-util.c: bin chaining and app-fed pad lifecycle for the rooms. */
#include "disco-gst-util.h"

GstElement *
disco_gst_chain_bin (GstElement **elems, guint n, GQuark domain, gint code, GError **error)
{
  GstElement *bin = gst_bin_new (NULL);

  for (guint i = 0; i < n; i++)
    gst_bin_add (GST_BIN (bin), elems[i]);
  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (elems[i], elems[i + 1]))
      {
        g_set_error (error, domain, code, "cannot link %s to %s", GST_OBJECT_NAME (elems[i]),
                     GST_OBJECT_NAME (elems[i + 1]));
        gst_object_unref (gst_object_ref_sink (bin));
        return NULL;
      }
  GstPad *sink = gst_element_get_static_pad (elems[0], "sink");
  GstPad *src = gst_element_get_static_pad (elems[n - 1], "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", sink));
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", src));
  gst_object_unref (sink);
  gst_object_unref (src);
  return bin;
}

void
disco_gst_feed_begin (GstPad *feed, const char *stream_id, GstCaps *caps)
{
  GstSegment seg;

  gst_pad_push_event (feed, gst_event_new_stream_start (stream_id));
  gst_pad_push_event (feed, gst_event_new_caps (caps));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_pad_push_event (feed, gst_event_new_segment (&seg));
}

void
disco_gst_feed_release (GstPad *feed)
{
  GstPad *peer = gst_pad_get_peer (feed);

  if (peer != NULL)
    {
      gst_pad_unlink (feed, peer);
      gst_object_unref (peer);
    }
  gst_pad_set_active (feed, FALSE);
  gst_object_unref (feed);
}

typedef struct
{
  gint refs;
  GMutex lock;
  GCond cond;
  gboolean done;
} IdleWait;

static void
idle_wait_unref (gpointer data)
{
  IdleWait *w = data;
  if (g_atomic_int_dec_and_test (&w->refs))
    {
      g_mutex_clear (&w->lock);
      g_cond_clear (&w->cond);
      g_free (w);
    }
}

static GstPadProbeReturn
unlink_on_idle (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  IdleWait *w = data;
  GstPad *peer = gst_pad_get_peer (pad);
  if (peer != NULL)
    {
      gst_pad_unlink (pad, peer);
      gst_object_unref (peer);
    }
  g_mutex_lock (&w->lock);
  w->done = TRUE;
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  return GST_PAD_PROBE_REMOVE;
}

gboolean
disco_gst_pad_unlink_idle (GstPad *src, guint timeout_ms)
{
  g_return_val_if_fail (GST_IS_PAD (src) && GST_PAD_IS_SRC (src), FALSE);
  IdleWait *w = g_new0 (IdleWait, 1);
  w->refs = 2; /* the caller and the probe */
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_IDLE, unlink_on_idle, w, idle_wait_unref);
  gint64 end = g_get_monotonic_time () + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock (&w->lock);
  while (!w->done)
    if (!g_cond_wait_until (&w->cond, &w->lock, end))
      break;
  gboolean done = w->done;
  g_mutex_unlock (&w->lock);
  idle_wait_unref (w);
  return done;
}
