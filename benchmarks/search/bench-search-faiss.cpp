// bench-search-faiss.cpp — the peer of bench-search: the same synthetic
// library (the same halves, widened to fp32) in a FAISS IndexFlatIP; per
// query the top 64 frames, the score curves of the candidate videos by BLAS
// GEMV over their fp32 rows, and the same temporal grounding.
//
//   bench-search-faiss ROWS DIM VIDEO_FRAMES QUERIES
//
// Prints a "RESULT wall_ms cpu_ms scan_ms curves_ms ground_ms host_B/frame
// candidates top_video top_frame top_score scan_cpu curves_cpu ground_cpu"
// line for bench-search.
//
// SPDX-License-Identifier: GPL-3.0-or-later
#include <faiss/IndexFlat.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "search/vm-grounding.h"

extern "C" int sgemv_ (const char *trans, const int *m, const int *n, const float *alpha, const float *a,
                       const int *lda, const float *x, const int *incx, const float *beta, float *y,
                       const int *incy);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
next_u64 ()
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

// The same halves as bench-search, widened exactly (normal numbers only).
static float
next_half_as_float ()
{
  uint64_t r = next_u64 ();
  uint32_t h = (uint32_t) (((r >> 63) << 15) | (0x3000 + (r >> 20) % 0x0C00));
  uint32_t bits = ((h & 0x8000u) << 16) | ((((h >> 10) & 0x1f) - 15 + 127) << 23) | ((h & 0x3ffu) << 13);
  float f;

  std::memcpy (&f, &bits, sizeof f);
  return f;
}

static float
next_float ()
{
  return (float) (next_u64 () >> 40) / (float) (1 << 24) * 2.0f - 1.0f;
}

static double
cpu_seconds ()
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
now ()
{
  return std::chrono::duration<double> (std::chrono::steady_clock::now ().time_since_epoch ()).count ();
}

static double
median (std::vector<double> v)
{
  std::sort (v.begin (), v.end ());
  size_t n = v.size ();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
  if (argc != 5)
    {
      std::fprintf (stderr, "usage: %s ROWS DIM VIDEO_FRAMES QUERIES\n", argv[0]);
      return 2;
    }
  long rows = std::atol (argv[1]);
  int dim = std::atoi (argv[2]);
  int video_frames = std::atoi (argv[3]);
  int n_queries = std::atoi (argv[4]);
  const int k = 64;

  if (rows <= 0 || dim <= 0 || video_frames <= 0 || n_queries <= 0)
    return 2;

  double t0 = now ();
  faiss::IndexFlatIP index (dim);
  {
    // Video by video, as bench-search generates them.
    std::vector<float> chunk ((size_t) video_frames * dim);
    for (long done = 0; done < rows;)
      {
        long n = std::min ((long) video_frames, rows - done);
        for (size_t i = 0; i < (size_t) n * dim; i++)
          chunk[i] = next_half_as_float ();
        index.add (n, chunk.data ());
        done += n;
      }
  }
  std::vector<float> queries ((size_t) (n_queries + 2) * dim);
  for (auto &v : queries)
    v = next_float ();
  std::printf ("FAISS: %ld rows added in %.1f s\n", rows, now () - t0);

  std::vector<double> times (video_frames);
  std::vector<int> shots (video_frames);
  for (int i = 0; i < video_frames; i++)
    {
      times[i] = i * 0.5;
      shots[i] = i / 40;
    }
  VmGroundingOptions gopts;
  vm_grounding_options_init (&gopts);

  const float *xb = index.get_xb ();
  std::vector<double> walls, scans, curves_t, grounds;
  double cpu_total = 0, scan_cpu = 0, curves_cpu = 0, ground_cpu = 0;
  long cand_total = 0, top_video = -1;
  int top_frame = -1;
  float top_score = 0;

  for (int q = 0; q < n_queries + 2; q++)
    {
      const float *query = queries.data () + (size_t) q * dim;
      std::vector<float> d (k);
      std::vector<faiss::Index::idx_t> ids (k);
      double c0 = cpu_seconds (), w0 = now ();

      index.search (1, query, k, d.data (), ids.data ());
      double w1 = now (), c1 = cpu_seconds ();

      std::vector<long> videos;
      for (int i = 0; i < k; i++)
        {
          if (ids[i] < 0)
            continue;
          long v = ids[i] / video_frames;
          if (std::find (videos.begin (), videos.end (), v) == videos.end ())
            videos.push_back (v);
        }
      std::vector<std::vector<float>> curves;
      for (long v : videos)
        {
          long first = v * video_frames;
          int n = (int) std::min ((long) video_frames, rows - first);
          std::vector<float> y (n);
          const char trans = 'T';
          const float one = 1.0f, zero = 0.0f;
          const int inc = 1;
          sgemv_ (&trans, &dim, &n, &one, xb + (size_t) first * dim, &dim, query, &inc, &zero, y.data (), &inc);
          curves.push_back (std::move (y));
        }
      double w2 = now (), c2 = cpu_seconds ();
      for (auto &y : curves)
        {
          GArray *spans = vm_ground_curve (times.data (), y.data (), shots.data (), (guint) y.size (),
                                           y.size () * 0.5, &gopts);
          g_array_unref (spans);
        }
      double w3 = now ();

      if (q == 2)
        {
          top_video = ids[0] / video_frames;
          top_frame = (int) (ids[0] % video_frames);
          top_score = d[0];
        }
      if (q < 2)
        continue;
      cpu_total += cpu_seconds () - c0;
      scan_cpu += (c1 - c0) * 1e3 / n_queries;
      curves_cpu += (c2 - c1) * 1e3 / n_queries;
      ground_cpu += (cpu_seconds () - c2) * 1e3 / n_queries;
      walls.push_back ((w3 - w0) * 1e3);
      scans.push_back ((w1 - w0) * 1e3);
      curves_t.push_back ((w2 - w1) * 1e3);
      grounds.push_back ((w3 - w2) * 1e3);
      cand_total += (long) videos.size ();
    }

  std::printf ("RESULT %.4f %.4f %.4f %.4f %.4f %.1f %ld %ld %d %.6f %.4f %.4f %.4f\n", median (walls),
               cpu_total * 1e3 / n_queries, median (scans), median (curves_t), median (grounds),
               dim * 4.0 + sizeof (gint64) + sizeof (int), cand_total / n_queries, top_video, top_frame,
               top_score, scan_cpu, curves_cpu, ground_cpu);
  return 0;
}
