/* disco-mixer.c: the "discomixer" element (see disco-mixer.h for the contract).
 *
 * How a tick works (all on the aggregator's streaming thread):
 *  1. create_output_buffer(): clear the int32 accumulators, advance the tick
 *     counter and mark which sink pads need their own contribution kept
 *     (those with a "minus_%u" pad).
 *  2. aggregate_one_buffer() (once per input slice): apply gain/mute, add to
 *     the full accumulator, to the "local" accumulator for participants, to
 *     the pad's own buffer if kept, and accumulate the pad's energy.
 *  3. finish_buffer(): soft-limit the full mix into the output buffer, run
 *     talker detection, derive "local" and every "minus_%u" from the same
 *     sums, push them, then chain up to push "src".
 * So the arithmetic is O(N + M) per tick for N inputs and M extra outputs.
 */
#include "disco-mixer.h"

#include "disco-build-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (disco_mixer_debug);
#define GST_CAT_DEFAULT disco_mixer_debug

#define DEFAULT_RATE 48000
#define DEFAULT_CHANNELS 1
#define DEFAULT_OUTPUT_BUFFER_DURATION (20 * GST_MSECOND)
#define DEFAULT_TALK_THRESHOLD (-40.0)
#define DEFAULT_TALK_ATTACK 60
#define DEFAULT_TALK_RELEASE 400
#define DEFAULT_GAIN 1.0
#define MAX_GAIN 10.0
#define SILENCE_DB (-127.0)

/* Soft limiter: identity up to the knee (-6 dBov), then a tanh curve that
 * approaches but never passes full scale.  Stateless, so every output (full,
 * local, each minus) is limited independently and identically. */
#define LIMIT_KNEE 16384
#define LIMIT_CEIL 32767

#define CAPS_TEMPLATE                                                                              \
  "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)[ 1, MAX ], "          \
  "channels=(int)[ 1, 2 ]"

/* ------------------------------------------------------------------------ */
/* Pad kind enum */

GType
disco_mixer_pad_kind_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { DISCO_MIXER_PAD_KIND_PARTICIPANT, "A local participant", "participant" },
    { DISCO_MIXER_PAD_KIND_CASCADE, "Mix received from another focus", "cascade" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("DiscoMixerPadKind", values));
  return type;
}

/* ------------------------------------------------------------------------ */
/* Sink pad */

struct _DiscoMixerPad
{
  GstAudioAggregatorPad parent;

  /* with OBJECT_LOCK */
  DiscoMixerPadKind kind;
  gdouble gain;
  gboolean mute;
  gdouble level;
  gboolean talking;

  /* streaming thread only */
  guint index;       /* N of "sink_N" */
  gboolean want_own; /* a minus_N pad exists: keep the contribution */
  guint64 tick;      /* mixer tick this pad last contributed to */
  gint32 *own;       /* own contribution, valid when tick == mixer tick */
  gsize own_len;
  guint64 energy; /* sum of squares of this tick's contribution */
  guint64 above;  /* frames spent above / below the threshold */
  guint64 below;
};

enum
{
  PAD_PROP_0,
  PAD_PROP_KIND,
  PAD_PROP_GAIN,
  PAD_PROP_MUTE,
  PAD_PROP_LEVEL,
  PAD_PROP_TALKING,
};

G_DEFINE_TYPE (DiscoMixerPad, disco_mixer_pad, GST_TYPE_AUDIO_AGGREGATOR_PAD)

static void
disco_mixer_pad_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DiscoMixerPad *pad = DISCO_MIXER_PAD (object);

  GST_OBJECT_LOCK (pad);
  switch (prop_id)
    {
      case PAD_PROP_KIND:
        g_value_set_enum (value, pad->kind);
        break;
      case PAD_PROP_GAIN:
        g_value_set_double (value, pad->gain);
        break;
      case PAD_PROP_MUTE:
        g_value_set_boolean (value, pad->mute);
        break;
      case PAD_PROP_LEVEL:
        g_value_set_double (value, pad->level);
        break;
      case PAD_PROP_TALKING:
        g_value_set_boolean (value, pad->talking);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  GST_OBJECT_UNLOCK (pad);
}

static void
disco_mixer_pad_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  DiscoMixerPad *pad = DISCO_MIXER_PAD (object);

  GST_OBJECT_LOCK (pad);
  switch (prop_id)
    {
      case PAD_PROP_KIND:
        pad->kind = g_value_get_enum (value);
        break;
      case PAD_PROP_GAIN:
        pad->gain = g_value_get_double (value);
        break;
      case PAD_PROP_MUTE:
        pad->mute = g_value_get_boolean (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  GST_OBJECT_UNLOCK (pad);
}

static void
disco_mixer_pad_finalize (GObject *object)
{
  DiscoMixerPad *pad = DISCO_MIXER_PAD (object);

  g_free (pad->own);
  G_OBJECT_CLASS (disco_mixer_pad_parent_class)->finalize (object);
}

static void
disco_mixer_pad_class_init (DiscoMixerPadClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  gobject_class->get_property = disco_mixer_pad_get_property;
  gobject_class->set_property = disco_mixer_pad_set_property;
  gobject_class->finalize = disco_mixer_pad_finalize;

  g_object_class_install_property (
      gobject_class, PAD_PROP_KIND,
      g_param_spec_enum ("kind", "Kind", "Participant input or cascade input from another focus",
                         DISCO_TYPE_MIXER_PAD_KIND, DISCO_MIXER_PAD_KIND_PARTICIPANT,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PAD_PROP_GAIN,
                                   g_param_spec_double ("gain", "Gain",
                                                        "Linear gain applied to this input", 0.0,
                                                        MAX_GAIN, DEFAULT_GAIN, rw));
  g_object_class_install_property (
      gobject_class, PAD_PROP_MUTE,
      g_param_spec_boolean ("mute", "Mute", "Leave this input out of every mix", FALSE, rw));
  g_object_class_install_property (
      gobject_class, PAD_PROP_LEVEL,
      g_param_spec_double ("level", "Level",
                           "RMS of this input's contribution during the last tick (dBov; "
                           "above 0 only with gain > 1)",
                           SILENCE_DB, 40.0, SILENCE_DB, ro));
  g_object_class_install_property (gobject_class, PAD_PROP_TALKING,
                                   g_param_spec_boolean ("talking", "Talking",
                                                         "Talker detection state (with hysteresis)",
                                                         FALSE, ro));
}

static void
disco_mixer_pad_init (DiscoMixerPad *pad)
{
  pad->kind = DISCO_MIXER_PAD_KIND_PARTICIPANT;
  pad->gain = DEFAULT_GAIN;
  pad->level = SILENCE_DB;
}

/* ------------------------------------------------------------------------ */
/* Extra src pads ("local", "minus_%u") */

#define DISCO_TYPE_MIXER_SRC_PAD (disco_mixer_src_pad_get_type ())
G_DECLARE_FINAL_TYPE (DiscoMixerSrcPad, disco_mixer_src_pad, DISCO, MIXER_SRC_PAD, GstPad)

struct _DiscoMixerSrcPad
{
  GstPad parent;

  gint minus_index; /* -1 for "local"; immutable after creation */
  gint need_events; /* atomic: send stream-start/caps/segment first */
  /* streaming thread only */
  GstSegment segment; /* last segment sent */
};

G_DEFINE_TYPE (DiscoMixerSrcPad, disco_mixer_src_pad, GST_TYPE_PAD)

static void
disco_mixer_src_pad_class_init (DiscoMixerSrcPadClass *klass)
{
}

static void
disco_mixer_src_pad_init (DiscoMixerSrcPad *pad)
{
  pad->minus_index = -1;
  pad->need_events = 1;
  gst_segment_init (&pad->segment, GST_FORMAT_UNDEFINED);
}

/* ------------------------------------------------------------------------ */
/* Element */

struct _DiscoMixer
{
  GstAudioAggregator parent;

  /* with OBJECT_LOCK */
  gint rate;
  gint channels;
  gdouble talk_threshold;
  guint talk_attack;
  guint talk_release;
  guint64 ticks;
  guint64 overruns;
  GList *outputs; /* DiscoMixerSrcPad*, not owned (element owns pads) */
  gboolean have_local;

  gchar *stream_prefix; /* immutable */

  /* streaming thread only */
  guint group_id;
  guint64 tick;
  gint32 *acc;   /* full mix */
  gint32 *local; /* participants only, summed only while "local" exists */
  gboolean want_local;
  gint32 *scratch; /* gain-scaled input */
  gsize scratch_len;
  gsize acc_len;  /* allocated samples */
  gsize tick_len; /* samples (frames * channels) of the current tick */
  gint tick_channels;
};

enum
{
  PROP_0,
  PROP_RATE,
  PROP_CHANNELS,
  PROP_TALK_THRESHOLD,
  PROP_TALK_ATTACK,
  PROP_TALK_RELEASE,
  PROP_TICKS,
  PROP_TICK_OVERRUNS,
};

static GstStaticPadTemplate src_template
    = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_TEMPLATE));
static GstStaticPadTemplate local_template = GST_STATIC_PAD_TEMPLATE (
    "local", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS (CAPS_TEMPLATE));
static GstStaticPadTemplate minus_template = GST_STATIC_PAD_TEMPLATE (
    "minus_%u", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS (CAPS_TEMPLATE));
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS (CAPS_TEMPLATE));

G_DEFINE_TYPE_WITH_CODE (DiscoMixer, disco_mixer, GST_TYPE_AUDIO_AGGREGATOR,
                         GST_DEBUG_CATEGORY_INIT (disco_mixer_debug, "discomixer", 0,
                                                  "DisCo mix-minus mixer"))

static GstCaps *
disco_mixer_fixed_caps (DiscoMixer *self)
{
  gint rate, channels;

  GST_OBJECT_LOCK (self);
  rate = self->rate;
  channels = self->channels;
  GST_OBJECT_UNLOCK (self);
  return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout",
                              G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, rate, "channels",
                              G_TYPE_INT, channels, NULL);
}

static inline gint16
disco_mixer_limit (gint32 x)
{
  if (G_LIKELY (x >= -LIMIT_KNEE && x <= LIMIT_KNEE))
    return (gint16)x;

  const double span = LIMIT_CEIL - LIMIT_KNEE;
  double a = x < 0 ? -(double)x : (double)x;
  double y = LIMIT_KNEE + span * tanh ((a - LIMIT_KNEE) / span);
  gint32 v = (gint32)lrint (y);
  if (v > LIMIT_CEIL)
    v = LIMIT_CEIL;
  return (gint16)(x < 0 ? -v : v);
}

static void
disco_mixer_limit_block (const gint32 *in, gint16 *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = disco_mixer_limit (in[i]);
}

static void
disco_mixer_limit_minus_block (const gint32 *in, const gint32 *own, gint16 *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = disco_mixer_limit (in[i] - own[i]);
}

/* --- caps ---------------------------------------------------------------- */

static gboolean
disco_mixer_sink_query (GstAggregator *agg, GstAggregatorPad *aggpad, GstQuery *query)
{
  DiscoMixer *self = DISCO_MIXER (agg);

  switch (GST_QUERY_TYPE (query))
    {
      case GST_QUERY_CAPS:
        {
          GstCaps *filter, *caps = disco_mixer_fixed_caps (self);

          gst_query_parse_caps (query, &filter);
          if (filter)
            {
              GstCaps *tmp = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
              gst_caps_unref (caps);
              caps = tmp;
            }
          gst_query_set_caps_result (query, caps);
          gst_caps_unref (caps);
          return TRUE;
        }
      case GST_QUERY_ACCEPT_CAPS:
        {
          GstCaps *caps, *fixed = disco_mixer_fixed_caps (self);

          gst_query_parse_accept_caps (query, &caps);
          gst_query_set_accept_caps_result (query, gst_caps_is_subset (caps, fixed));
          gst_caps_unref (fixed);
          return TRUE;
        }
      default:
        return GST_AGGREGATOR_CLASS (disco_mixer_parent_class)->sink_query (agg, aggpad, query);
    }
}

static GstFlowReturn
disco_mixer_update_src_caps (GstAggregator *agg, GstCaps *caps, GstCaps **ret)
{
  DiscoMixer *self = DISCO_MIXER (agg);
  GstCaps *fixed = disco_mixer_fixed_caps (self);

  *ret = gst_caps_intersect (caps, fixed);
  gst_caps_unref (fixed);
  if (gst_caps_is_empty (*ret))
    {
      GST_WARNING_OBJECT (self, "downstream does not accept %" GST_PTR_FORMAT, caps);
      gst_clear_caps (ret);
      return GST_FLOW_NOT_NEGOTIATED;
    }
  return GST_FLOW_OK;
}

/* --- mixing -------------------------------------------------------------- */

/* Adds @n samples into @acc and returns their sum of squares (plain loops
 * the compiler vectorises). */
static guint64
disco_mixer_add_s16 (gint32 *restrict acc, const gint16 *restrict in, gsize n)
{
  guint64 energy = 0;
  for (gsize i = 0; i < n; i++)
    {
      gint32 v = in[i];
      acc[i] += v;
      energy += (guint32)(v * v);
    }
  return energy;
}

static guint64
disco_mixer_add_s32 (gint32 *restrict acc, const gint32 *restrict in, gsize n)
{
  guint64 energy = 0;
  for (gsize i = 0; i < n; i++)
    {
      acc[i] += in[i];
      energy += (guint64)((gint64)in[i] * in[i]);
    }
  return energy;
}

static gint32 *
disco_mixer_scratch (DiscoMixer *self, gsize n)
{
  if (self->scratch_len < n)
    {
      self->scratch = g_renew (gint32, self->scratch, n);
      self->scratch_len = n;
    }
  return self->scratch;
}

static GstBuffer *
disco_mixer_create_output_buffer (GstAudioAggregator *aagg, guint num_frames)
{
  DiscoMixer *self = DISCO_MIXER (aagg);
  GstAggregator *agg = GST_AGGREGATOR (aagg);
  GstAudioAggregatorPad *srcpad = GST_AUDIO_AGGREGATOR_PAD (agg->srcpad);
  gint channels;
  gsize n;

  GST_OBJECT_LOCK (srcpad);
  channels = GST_AUDIO_INFO_CHANNELS (&srcpad->info);
  GST_OBJECT_UNLOCK (srcpad);
  if (channels < 1)
    channels = 1;

  n = (gsize)num_frames * channels;
  if (n > self->acc_len)
    {
      self->acc = g_renew (gint32, self->acc, n);
      self->local = g_renew (gint32, self->local, n);
      self->acc_len = n;
    }
  memset (self->acc, 0, n * sizeof (gint32));
  memset (self->local, 0, n * sizeof (gint32));
  self->tick_len = n;
  self->tick_channels = channels;
  self->tick++;

  /* Keep own contributions only for pads that have a minus pad: for the
   * usual few talkers among many listeners this avoids writing N extra
   * buffers per tick. */
  GST_OBJECT_LOCK (self);
  self->want_local = self->have_local;
  for (GList *l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    DISCO_MIXER_PAD (l->data)->want_own = FALSE;
  for (GList *o = self->outputs; o; o = o->next)
    {
      gint idx = DISCO_MIXER_SRC_PAD (o->data)->minus_index;
      if (idx < 0)
        continue;
      for (GList *l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
        if (DISCO_MIXER_PAD (l->data)->index == (guint)idx)
          DISCO_MIXER_PAD (l->data)->want_own = TRUE;
    }
  GST_OBJECT_UNLOCK (self);

  return GST_AUDIO_AGGREGATOR_CLASS (disco_mixer_parent_class)
      ->create_output_buffer (aagg, num_frames);
}

static gboolean
disco_mixer_aggregate_one_buffer (GstAudioAggregator *aagg, GstAudioAggregatorPad *aaggpad,
                                  GstBuffer *inbuf, guint in_offset, GstBuffer *outbuf,
                                  guint out_offset, guint num_frames)
{
  DiscoMixer *self = DISCO_MIXER (aagg);
  DiscoMixerPad *pad = DISCO_MIXER_PAD (aaggpad);
  gdouble gain;
  gboolean mute, participant;
  GstMapInfo map;
  gsize channels = self->tick_channels;
  gsize start = (gsize)out_offset * channels;
  gsize n = (gsize)num_frames * channels;
  gsize skip = (gsize)in_offset * channels;

  GST_OBJECT_LOCK (pad);
  gain = pad->gain;
  mute = pad->mute;
  participant = pad->kind == DISCO_MIXER_PAD_KIND_PARTICIPANT;
  GST_OBJECT_UNLOCK (pad);

  if (pad->tick != self->tick)
    {
      pad->tick = self->tick;
      pad->energy = 0;
      if (pad->want_own)
        {
          if (pad->own_len < self->tick_len)
            {
              pad->own = g_renew (gint32, pad->own, self->tick_len);
              pad->own_len = self->tick_len;
            }
          memset (pad->own, 0, self->tick_len * sizeof (gint32));
        }
    }

  if (mute || gain <= 0.0)
    return FALSE;
  if (start + n > self->tick_len)
    {
      GST_WARNING_OBJECT (pad, "slice %" G_GSIZE_FORMAT "+%" G_GSIZE_FORMAT " outside tick", start,
                          n);
      return FALSE;
    }
  if (!gst_buffer_map (inbuf, &map, GST_MAP_READ))
    return FALSE;
  if ((skip + n) * sizeof (gint16) > map.size)
    {
      GST_WARNING_OBJECT (pad, "input buffer too small");
      gst_buffer_unmap (inbuf, &map);
      return FALSE;
    }

  const gint16 *in = (const gint16 *)map.data + skip;
  gint32 *acc = self->acc + start;
  gint32 *local = participant && self->want_local ? self->local + start : NULL;
  gint32 *own = pad->want_own ? pad->own + start : NULL;
  guint64 energy;

  if (gain == 1.0)
    {
      energy = disco_mixer_add_s16 (acc, in, n);
      if (local)
        disco_mixer_add_s16 (local, in, n);
      if (own)
        disco_mixer_add_s16 (own, in, n);
    }
  else
    {
      /* Gain in Q16 fixed point keeps the hot loops integer. */
      gint32 *scaled = disco_mixer_scratch (self, n);
      gint32 q = (gint32)lrint (gain * 65536.0);
      for (gsize i = 0; i < n; i++)
        scaled[i] = (gint32)(((gint64)in[i] * q) >> 16);
      energy = disco_mixer_add_s32 (acc, scaled, n);
      if (local)
        disco_mixer_add_s32 (local, scaled, n);
      if (own)
        disco_mixer_add_s32 (own, scaled, n);
    }
  pad->energy += energy;

  gst_buffer_unmap (inbuf, &map);
  return TRUE;
}

static DiscoMixerPad *
disco_mixer_find_sink_locked (DiscoMixer *self, guint index)
{
  for (GList *l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    if (DISCO_MIXER_PAD (l->data)->index == index)
      return l->data;
  return NULL;
}

/* Per-pad talker bookkeeping collected under the element lock, acted on
 * (messages posted) after it is released. */
typedef struct
{
  DiscoMixerPad *pad; /* ref */
  gboolean talking;
  DiscoMixerPadKind kind;
  gdouble level;
} TalkChange;

/* What one extra output sends this tick, decided under the element lock. */
typedef struct
{
  DiscoMixerSrcPad *out; /* ref */
  DiscoMixerPad *own;    /* ref, or NULL: subtract nothing */
  gboolean skip;         /* pad appeared mid-tick: its data starts next tick */
} OutJob;

static void
disco_mixer_update_talker (DiscoMixer *self, DiscoMixerPad *pad, gsize tick_len, guint64 frames,
                           gdouble threshold, guint64 attack_frames, guint64 release_frames,
                           GArray *changes)
{
  gdouble level = SILENCE_DB;
  gboolean changed = FALSE;

  if (pad->tick == self->tick && pad->energy > 0 && tick_len > 0)
    {
      double ms = (double)pad->energy / (double)tick_len;
      level = 10.0 * log10 (ms / (32768.0 * 32768.0));
      if (level < SILENCE_DB)
        level = SILENCE_DB;
    }

  GST_OBJECT_LOCK (pad);
  pad->level = level;
  if (level >= threshold)
    {
      pad->above += frames;
      pad->below = 0;
      if (!pad->talking && pad->above >= attack_frames)
        pad->talking = changed = TRUE;
    }
  else
    {
      pad->below += frames;
      pad->above = 0;
      if (pad->talking && pad->below >= release_frames)
        {
          pad->talking = FALSE;
          changed = TRUE;
        }
    }
  if (changed)
    {
      TalkChange c = { gst_object_ref (pad), pad->talking, pad->kind, level };
      g_array_append_val (changes, c);
    }
  GST_OBJECT_UNLOCK (pad);
}

static void
disco_mixer_push_extra (DiscoMixer *self, DiscoMixerSrcPad *out, GstBuffer *mixbuf, GstCaps *caps,
                        const GstSegment *segment, const gint32 *sum, const gint32 *own, gsize n)
{
  GstPad *pad = GST_PAD (out);
  GstBuffer *buf;
  GstMapInfo map;
  GstFlowReturn ret;

  if (g_atomic_int_compare_and_exchange (&out->need_events, 1, 0))
    {
      /* gst_pad_create_stream_id() insists on at most one sink pad, so
       * build a per-element unique id by hand. */
      gchar *stream_id = g_strdup_printf ("%s/%s", self->stream_prefix, GST_PAD_NAME (pad));
      GstEvent *ev = gst_event_new_stream_start (stream_id);

      gst_event_set_group_id (ev, self->group_id);
      g_free (stream_id);
      gst_pad_push_event (pad, ev);
      if (caps)
        gst_pad_push_event (pad, gst_event_new_caps (caps));
      gst_segment_init (&out->segment, GST_FORMAT_UNDEFINED);
    }
  if (!gst_segment_is_equal (&out->segment, segment))
    {
      gst_segment_copy_into (segment, &out->segment);
      gst_pad_push_event (pad, gst_event_new_segment (segment));
    }

  buf = gst_buffer_new_allocate (NULL, n * sizeof (gint16), NULL);
  gst_buffer_copy_into (buf, mixbuf, GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  if (own)
    disco_mixer_limit_minus_block (sum, own, (gint16 *)map.data, n);
  else
    disco_mixer_limit_block (sum, (gint16 *)map.data, n);
  gst_buffer_unmap (buf, &map);

  ret = gst_pad_push (pad, buf);
  if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED && ret != GST_FLOW_FLUSHING)
    GST_DEBUG_OBJECT (pad, "push returned %s", gst_flow_get_name (ret));
}

static gboolean
disco_mixer_is_late (DiscoMixer *self, GstBuffer *outbuf, const GstSegment *segment)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime latency, now, base, rt;
  gboolean late = FALSE;

  if (clock == NULL)
    return FALSE;
  latency = gst_aggregator_get_latency (GST_AGGREGATOR (self));
  base = gst_element_get_base_time (GST_ELEMENT (self));
  rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (outbuf));
  if (GST_CLOCK_TIME_IS_VALID (latency) && GST_CLOCK_TIME_IS_VALID (rt)
      && GST_BUFFER_DURATION_IS_VALID (outbuf))
    {
      now = gst_clock_get_time (clock);
      late = now > base + rt + GST_BUFFER_DURATION (outbuf) + latency;
    }
  gst_object_unref (clock);
  return late;
}

static GstFlowReturn
disco_mixer_finish_buffer (GstAggregator *agg, GstBuffer *outbuf)
{
  DiscoMixer *self = DISCO_MIXER (agg);
  GstMapInfo map;
  gsize n;
  guint64 frames;
  gdouble threshold;
  guint64 attack_frames, release_frames;
  gint rate;
  GArray *changes = g_array_new (FALSE, FALSE, sizeof (TalkChange));
  GArray *jobs = g_array_new (FALSE, TRUE, sizeof (OutJob));
  GstSegment segment;
  GstCaps *caps;

  outbuf = gst_buffer_make_writable (outbuf);
  n = MIN (gst_buffer_get_size (outbuf) / sizeof (gint16), self->tick_len);
  frames = self->tick_channels > 0 ? n / self->tick_channels : 0;

  if (gst_buffer_map (outbuf, &map, GST_MAP_WRITE))
    {
      disco_mixer_limit_block (self->acc, (gint16 *)map.data, n);
      gst_buffer_unmap (outbuf, &map);
    }

  caps = gst_pad_get_current_caps (agg->srcpad);

  GST_OBJECT_LOCK (self);
  /* The aggregator guards its output segment with the element lock. */
  segment = GST_AGGREGATOR_PAD (agg->srcpad)->segment;
  rate = GST_AUDIO_INFO_RATE (&GST_AUDIO_AGGREGATOR_PAD (agg->srcpad)->info);
  if (rate <= 0)
    rate = self->rate;
  threshold = self->talk_threshold;
  attack_frames = gst_util_uint64_scale_int (self->talk_attack, rate, 1000);
  release_frames = gst_util_uint64_scale_int (self->talk_release, rate, 1000);
  for (GList *l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    {
      DiscoMixerPad *pad = DISCO_MIXER_PAD (l->data);

      disco_mixer_update_talker (self, pad, n, frames, threshold, attack_frames, release_frames,
                                 changes);
    }
  for (GList *o = self->outputs; o; o = o->next)
    {
      OutJob job = { gst_object_ref (o->data), NULL, FALSE };

      if (job.out->minus_index < 0)
        job.skip = !self->want_local;
      else
        {
          DiscoMixerPad *pad = disco_mixer_find_sink_locked (self, (guint)job.out->minus_index);

          /* Not kept: the minus pad is newer than this tick, and sending the
           * full mix would echo the talker for 20 ms.  Kept but no data this
           * tick: the contribution is zero. */
          if (pad && !pad->want_own)
            job.skip = TRUE;
          else if (pad && pad->tick == self->tick && pad->own_len >= n)
            job.own = gst_object_ref (pad);
        }
      g_array_append_val (jobs, job);
    }
  GST_OBJECT_UNLOCK (self);

  for (guint i = 0; i < jobs->len; i++)
    {
      OutJob *job = &g_array_index (jobs, OutJob, i);

      if (!job->skip)
        disco_mixer_push_extra (self, job->out, outbuf, caps, &segment,
                                job->out->minus_index < 0 ? self->local : self->acc,
                                job->own ? job->own->own : NULL, n);
      gst_object_unref (job->out);
      if (job->own)
        gst_object_unref (job->own);
    }

  for (guint i = 0; i < changes->len; i++)
    {
      TalkChange *c = &g_array_index (changes, TalkChange, i);
      GstStructure *s = gst_structure_new (DISCO_MIXER_TALKER_MESSAGE, "pad", G_TYPE_STRING,
                                           GST_PAD_NAME (c->pad), "talking", G_TYPE_BOOLEAN,
                                           c->talking, "kind", DISCO_TYPE_MIXER_PAD_KIND, c->kind,
                                           "level", G_TYPE_DOUBLE, c->level, NULL);
      GST_DEBUG_OBJECT (c->pad, "talking=%d level=%.1f", c->talking, c->level);
      gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
      gst_object_unref (c->pad);
    }
  g_array_free (changes, TRUE);
  g_array_free (jobs, TRUE);
  if (caps)
    gst_caps_unref (caps);

  gboolean late = disco_mixer_is_late (self, outbuf, &segment);
  GST_OBJECT_LOCK (self);
  self->ticks++;
  if (late)
    self->overruns++;
  GST_OBJECT_UNLOCK (self);

  return GST_AGGREGATOR_CLASS (disco_mixer_parent_class)->finish_buffer (agg, outbuf);
}

/* --- extra src pads ------------------------------------------------------ */

static gboolean
disco_mixer_extra_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  DiscoMixer *self = DISCO_MIXER (parent);

  switch (GST_QUERY_TYPE (query))
    {
      case GST_QUERY_CAPS:
        {
          GstCaps *filter, *caps = disco_mixer_fixed_caps (self);

          gst_query_parse_caps (query, &filter);
          if (filter)
            {
              GstCaps *tmp = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
              gst_caps_unref (caps);
              caps = tmp;
            }
          gst_query_set_caps_result (query, caps);
          gst_caps_unref (caps);
          return TRUE;
        }
      case GST_QUERY_LATENCY:
        /* Same latency as the main output: same thread, same timestamps. */
        return gst_pad_query (GST_AGGREGATOR (self)->srcpad, query);
      default:
        return gst_pad_query_default (pad, parent, query);
    }
}

static gboolean
disco_mixer_extra_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  /* Seeks and QoS belong to the main output; extra outputs follow it. */
  gboolean ret = GST_EVENT_TYPE (event) != GST_EVENT_SEEK;

  gst_event_unref (event);
  return ret;
}

static GstPadProbeReturn
disco_mixer_src_event_probe (GstPad *srcpad, GstPadProbeInfo *info, gpointer user_data)
{
  DiscoMixer *self = DISCO_MIXER (user_data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GPtrArray *outs;

  switch (GST_EVENT_TYPE (event))
    {
      case GST_EVENT_EOS:
      case GST_EVENT_FLUSH_START:
      case GST_EVENT_FLUSH_STOP:
        break;
      default:
        return GST_PAD_PROBE_OK;
    }

  outs = g_ptr_array_new_with_free_func (gst_object_unref);
  GST_OBJECT_LOCK (self);
  for (GList *o = self->outputs; o; o = o->next)
    g_ptr_array_add (outs, gst_object_ref (o->data));
  GST_OBJECT_UNLOCK (self);
  for (guint i = 0; i < outs->len; i++)
    {
      DiscoMixerSrcPad *out = g_ptr_array_index (outs, i);
      if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
        g_atomic_int_set (&out->need_events, 1);
      gst_pad_push_event (GST_PAD (out), gst_event_ref (event));
    }
  g_ptr_array_free (outs, TRUE);
  return GST_PAD_PROBE_OK;
}

static GstPad *
disco_mixer_request_new_pad (GstElement *element, GstPadTemplate *templ, const gchar *req_name,
                             const GstCaps *caps)
{
  DiscoMixer *self = DISCO_MIXER (element);
  GstElementClass *klass = GST_ELEMENT_GET_CLASS (element);
  DiscoMixerSrcPad *out;
  gchar *name;

  if (templ == gst_element_class_get_pad_template (klass, "sink_%u"))
    {
      GstPad *pad = GST_ELEMENT_CLASS (disco_mixer_parent_class)
                        ->request_new_pad (element, templ, req_name, caps);
      const gchar *pname;
      guint64 index;

      if (pad == NULL)
        return NULL;
      pname = GST_PAD_NAME (pad);
      if (!g_str_has_prefix (pname, "sink_")
          || !g_ascii_string_to_unsigned (pname + 5, 10, 0, G_MAXINT, &index, NULL))
        {
          GST_WARNING_OBJECT (self, "unexpected sink pad name %s", pname);
          gst_element_release_request_pad (element, pad);
          return NULL;
        }
      DISCO_MIXER_PAD (pad)->index = (guint)index;
      return pad;
    }

  if (templ == gst_element_class_get_pad_template (klass, "local"))
    {
      GST_OBJECT_LOCK (self);
      if (self->have_local)
        {
          GST_OBJECT_UNLOCK (self);
          GST_WARNING_OBJECT (self, "\"local\" pad already requested");
          return NULL;
        }
      self->have_local = TRUE;
      GST_OBJECT_UNLOCK (self);
      name = g_strdup ("local");
      out = g_object_new (DISCO_TYPE_MIXER_SRC_PAD, "name", name, "direction", GST_PAD_SRC,
                          "template", templ, NULL);
      out->minus_index = -1;
    }
  else if (templ == gst_element_class_get_pad_template (klass, "minus_%u"))
    {
      guint64 index;

      if (req_name == NULL || !g_str_has_prefix (req_name, "minus_")
          || !g_ascii_string_to_unsigned (req_name + 6, 10, 0, G_MAXINT, &index, NULL))
        {
          GST_WARNING_OBJECT (self, "minus pads must be requested by name minus_N (got %s)",
                              req_name ? req_name : "NULL");
          return NULL;
        }
      GST_OBJECT_LOCK (self);
      gboolean exists = disco_mixer_find_sink_locked (self, (guint)index) != NULL;
      gboolean dup = FALSE;
      for (GList *o = self->outputs; o; o = o->next)
        dup |= DISCO_MIXER_SRC_PAD (o->data)->minus_index == (gint)index;
      GST_OBJECT_UNLOCK (self);
      if (!exists || dup)
        {
          GST_WARNING_OBJECT (self, "cannot create %s: %s", req_name,
                              dup ? "already exists" : "no such sink pad");
          return NULL;
        }
      name = g_strdup (req_name);
      out = g_object_new (DISCO_TYPE_MIXER_SRC_PAD, "name", name, "direction", GST_PAD_SRC,
                          "template", templ, NULL);
      out->minus_index = (gint)index;
    }
  else
    {
      return NULL;
    }
  g_free (name);

  gst_pad_set_query_function (GST_PAD (out), disco_mixer_extra_query);
  gst_pad_set_event_function (GST_PAD (out), disco_mixer_extra_event);
  gst_pad_use_fixed_caps (GST_PAD (out));

  /* Activate before publishing to the streaming thread so its first push
   * does not fail with FLUSHING; gst_element_add_pad() keeps it active. */
  if (GST_STATE (element) > GST_STATE_READY || GST_STATE_PENDING (element) == GST_STATE_PAUSED)
    gst_pad_set_active (GST_PAD (out), TRUE);
  if (!gst_element_add_pad (element, GST_PAD (out)))
    {
      if (out->minus_index < 0)
        {
          GST_OBJECT_LOCK (self);
          self->have_local = FALSE;
          GST_OBJECT_UNLOCK (self);
        }
      gst_object_unref (out);
      return NULL;
    }
  GST_OBJECT_LOCK (self);
  self->outputs = g_list_append (self->outputs, out);
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "added %s", GST_PAD_NAME (out));
  return GST_PAD (out);
}

static void
disco_mixer_release_pad (GstElement *element, GstPad *pad)
{
  if (!DISCO_IS_MIXER_SRC_PAD (pad))
    {
      GST_ELEMENT_CLASS (disco_mixer_parent_class)->release_pad (element, pad);
      return;
    }

  GST_DEBUG_OBJECT (element, "releasing %s", GST_PAD_NAME (pad));
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad); /* pad_removed() forgets it */
}

/* Also reached when a pad is removed without release_request_pad() (or at
 * dispose), so the output list never holds a pad the element dropped. */
static void
disco_mixer_pad_removed (GstElement *element, GstPad *pad)
{
  DiscoMixer *self = DISCO_MIXER (element);

  if (DISCO_IS_MIXER_SRC_PAD (pad))
    {
      GST_OBJECT_LOCK (self);
      GList *link = g_list_find (self->outputs, pad);
      if (link)
        {
          self->outputs = g_list_delete_link (self->outputs, link);
          if (DISCO_MIXER_SRC_PAD (pad)->minus_index < 0)
            self->have_local = FALSE;
        }
      GST_OBJECT_UNLOCK (self);
    }
  if (GST_ELEMENT_CLASS (disco_mixer_parent_class)->pad_removed)
    GST_ELEMENT_CLASS (disco_mixer_parent_class)->pad_removed (element, pad);
}

static GstStateChangeReturn
disco_mixer_change_state (GstElement *element, GstStateChange transition)
{
  DiscoMixer *self = DISCO_MIXER (element);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    {
      self->group_id = gst_util_group_id_next ();
      GST_OBJECT_LOCK (self);
      for (GList *o = self->outputs; o; o = o->next)
        g_atomic_int_set (&DISCO_MIXER_SRC_PAD (o->data)->need_events, 1);
      for (GList *l = element->sinkpads; l; l = l->next)
        {
          DiscoMixerPad *pad = DISCO_MIXER_PAD (l->data);
          pad->above = pad->below = 0;
          pad->talking = FALSE;
          pad->level = SILENCE_DB;
        }
      GST_OBJECT_UNLOCK (self);
    }
  return GST_ELEMENT_CLASS (disco_mixer_parent_class)->change_state (element, transition);
}

/* --- GObject ------------------------------------------------------------- */

static void
disco_mixer_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DiscoMixer *self = DISCO_MIXER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
      case PROP_RATE:
        self->rate = g_value_get_int (value);
        break;
      case PROP_CHANNELS:
        self->channels = g_value_get_int (value);
        break;
      case PROP_TALK_THRESHOLD:
        self->talk_threshold = g_value_get_double (value);
        break;
      case PROP_TALK_ATTACK:
        self->talk_attack = g_value_get_uint (value);
        break;
      case PROP_TALK_RELEASE:
        self->talk_release = g_value_get_uint (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
disco_mixer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DiscoMixer *self = DISCO_MIXER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id)
    {
      case PROP_RATE:
        g_value_set_int (value, self->rate);
        break;
      case PROP_CHANNELS:
        g_value_set_int (value, self->channels);
        break;
      case PROP_TALK_THRESHOLD:
        g_value_set_double (value, self->talk_threshold);
        break;
      case PROP_TALK_ATTACK:
        g_value_set_uint (value, self->talk_attack);
        break;
      case PROP_TALK_RELEASE:
        g_value_set_uint (value, self->talk_release);
        break;
      case PROP_TICKS:
        g_value_set_uint64 (value, self->ticks);
        break;
      case PROP_TICK_OVERRUNS:
        g_value_set_uint64 (value, self->overruns);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  GST_OBJECT_UNLOCK (self);
}

static void
disco_mixer_constructed (GObject *object)
{
  DiscoMixer *self = DISCO_MIXER (object);

  G_OBJECT_CLASS (disco_mixer_parent_class)->constructed (object);
  g_object_set (self, "output-buffer-duration", (guint64)DEFAULT_OUTPUT_BUFFER_DURATION, NULL);
  gst_pad_add_probe (GST_AGGREGATOR (self)->srcpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                     disco_mixer_src_event_probe, self, NULL);
}

static void
disco_mixer_finalize (GObject *object)
{
  DiscoMixer *self = DISCO_MIXER (object);

  g_list_free (self->outputs);
  g_free (self->stream_prefix);
  g_free (self->acc);
  g_free (self->local);
  g_free (self->scratch);
  G_OBJECT_CLASS (disco_mixer_parent_class)->finalize (object);
}

static void
disco_mixer_class_init (DiscoMixerClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);
  GstAudioAggregatorClass *aagg_class = GST_AUDIO_AGGREGATOR_CLASS (klass);
  const GParamFlags ready = G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | G_PARAM_STATIC_STRINGS;
  const GParamFlags play = G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = disco_mixer_set_property;
  gobject_class->get_property = disco_mixer_get_property;
  gobject_class->constructed = disco_mixer_constructed;
  gobject_class->finalize = disco_mixer_finalize;

  g_object_class_install_property (gobject_class, PROP_RATE,
                                   g_param_spec_int ("rate", "Rate",
                                                     "Sample rate of every input and output", 8000,
                                                     192000, DEFAULT_RATE, ready));
  g_object_class_install_property (
      gobject_class, PROP_CHANNELS,
      g_param_spec_int ("channels", "Channels", "Interleaved channels of every input and output", 1,
                        2, DEFAULT_CHANNELS, ready));
  g_object_class_install_property (
      gobject_class, PROP_TALK_THRESHOLD,
      g_param_spec_double ("talk-threshold", "Talk threshold",
                           "Level (dBov) above which an input counts as talking", SILENCE_DB, 0.0,
                           DEFAULT_TALK_THRESHOLD, play));
  g_object_class_install_property (
      gobject_class, PROP_TALK_ATTACK,
      g_param_spec_uint ("talk-attack", "Talk attack",
                         "Milliseconds above the threshold before talking starts", 0, 60000,
                         DEFAULT_TALK_ATTACK, play));
  g_object_class_install_property (
      gobject_class, PROP_TALK_RELEASE,
      g_param_spec_uint ("talk-release", "Talk release",
                         "Milliseconds below the threshold before talking stops", 0, 600000,
                         DEFAULT_TALK_RELEASE, play));
  g_object_class_install_property (gobject_class, PROP_TICKS,
                                   g_param_spec_uint64 ("ticks", "Ticks", "Output buffers produced",
                                                        0, G_MAXUINT64, 0,
                                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (
      gobject_class, PROP_TICK_OVERRUNS,
      g_param_spec_uint64 ("tick-overruns", "Tick overruns",
                           "Live ticks finished after their deadline (running time + duration + "
                           "latency)",
                           0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template_with_gtype (element_class, &src_template,
                                                        GST_TYPE_AUDIO_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &sink_template,
                                                        DISCO_TYPE_MIXER_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &local_template,
                                                        DISCO_TYPE_MIXER_SRC_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &minus_template,
                                                        DISCO_TYPE_MIXER_SRC_PAD);
  gst_element_class_set_static_metadata (
      element_class, "DisCo mix-minus mixer", "Generic/Audio",
      "Mixes S16 audio once per tick into a full mix, a local (participants only) mix and "
      "per-talker mix-minus outputs, with a soft limiter and talker detection",
      "DisCo project");

  element_class->request_new_pad = GST_DEBUG_FUNCPTR (disco_mixer_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (disco_mixer_release_pad);
  element_class->pad_removed = GST_DEBUG_FUNCPTR (disco_mixer_pad_removed);
  element_class->change_state = GST_DEBUG_FUNCPTR (disco_mixer_change_state);

  agg_class->sink_query = GST_DEBUG_FUNCPTR (disco_mixer_sink_query);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR (disco_mixer_update_src_caps);
  agg_class->finish_buffer = GST_DEBUG_FUNCPTR (disco_mixer_finish_buffer);

  aagg_class->create_output_buffer = GST_DEBUG_FUNCPTR (disco_mixer_create_output_buffer);
  aagg_class->aggregate_one_buffer = GST_DEBUG_FUNCPTR (disco_mixer_aggregate_one_buffer);

  gst_type_mark_as_plugin_api (DISCO_TYPE_MIXER_PAD, 0);
  gst_type_mark_as_plugin_api (DISCO_TYPE_MIXER_PAD_KIND, 0);
}

static void
disco_mixer_init (DiscoMixer *self)
{
  self->rate = DEFAULT_RATE;
  self->channels = DEFAULT_CHANNELS;
  self->talk_threshold = DEFAULT_TALK_THRESHOLD;
  self->talk_attack = DEFAULT_TALK_ATTACK;
  self->talk_release = DEFAULT_TALK_RELEASE;
  self->stream_prefix = g_strdup_printf ("discomixer-%08x%08x", g_random_int (), g_random_int ());
}

/* --- registration -------------------------------------------------------- */

static gboolean
disco_mixer_plugin_init (GstPlugin *plugin)
{
  return gst_element_register (plugin, "discomixer", GST_RANK_NONE, DISCO_TYPE_MIXER);
}

gboolean
disco_mixer_plugin_register (GError **error)
{
  static gsize once = 0;
  static gboolean ok = FALSE;

  if (!gst_is_initialized ())
    {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                   "gst_init() must be called before registering discomixer");
      return FALSE;
    }
  if (g_once_init_enter (&once))
    {
      ok = gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR, "discomixer",
                                       "DisCo mix-minus mixer", disco_mixer_plugin_init,
                                       DISCO_VERSION, "MIT", "disco", "disco",
                                       "https://datatracker.ietf.org/doc/draft-ietf-p2psip-disco/");
      g_once_init_leave (&once, 1);
    }
  if (!ok)
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                 "could not register the discomixer element");
  return ok;
}
