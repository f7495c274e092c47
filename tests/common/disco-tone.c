/* disco-tone.c: Goertzel single-frequency power for test assertions. */
#include "disco-tone.h"

#include <math.h>

double
disco_tone_power (const gint16 *samples, gsize n, guint rate, double freq)
{
  double w, coeff, s1 = 0.0, s2 = 0.0, re, im;

  if (samples == NULL || n == 0 || rate == 0 || freq <= 0.0 || freq >= rate / 2.0)
    return 0.0;

  w = 2.0 * G_PI * freq / rate;
  coeff = 2.0 * cos (w);
  for (gsize i = 0; i < n; i++)
    {
      double s0 = samples[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
  /* |X(f)|^2 from the final two states; a sine of amplitude A gives A*n/2. */
  re = s1 - s2 * cos (w);
  im = s2 * sin (w);
  return 2.0 * (re * re + im * im) / ((double)n * (double)n);
}
