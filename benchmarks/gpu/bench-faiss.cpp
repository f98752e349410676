// bench-faiss.cpp — the FAISS baseline for bench-gpu --similarity:
// IndexFlatIP (exact inner product, fp32) over the same shapes.
//
//   bench-faiss [rows] [dim] [queries,...] [k] [repeat]
//
// SPDX-License-Identifier: GPL-3.0-or-later
#include <faiss/IndexFlat.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double
cpu_seconds ()
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static float
next_float ()
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (float) ((rng_state * 0x2545F4914F6CDD1Dull) >> 40) / (float) (1 << 24) * 2.0f - 1.0f;
}

int
main (int argc, char **argv)
{
  long rows = argc > 1 ? std::atol (argv[1]) : 1000000;
  int dim = argc > 2 ? std::atoi (argv[2]) : 512;
  std::string counts = argc > 3 ? argv[3] : "1,4,16,64";
  int k = argc > 4 ? std::atoi (argv[4]) : 10;
  int repeat = argc > 5 ? std::atoi (argv[5]) : 3;

  if (rows <= 0 || dim <= 0 || k <= 0 || repeat <= 0)
    return 1;

  faiss::IndexFlatIP index (dim);
  {
    std::vector<float> chunk ((size_t) 65536 * dim);
    for (long done = 0; done < rows; done += 65536)
      {
        long n = std::min (65536L, rows - done);
        for (size_t i = 0; i < (size_t) n * dim; i++)
          chunk[i] = next_float ();
        index.add (n, chunk.data ());
      }
  }
  std::printf ("FAISS IndexFlatIP top-%d: %ld x %d fp32 rows (%.2f GB), best of %d\n",
               k, rows, dim, rows * dim * 4.0 / 1e9, repeat);
  std::printf ("%8s %12s %14s %14s %16s\n", "queries", "ms / batch", "ms / query", "CPU ms/batch", "CPU ms / query");

  std::stringstream ss (counts);
  std::string item;
  while (std::getline (ss, item, ','))
    {
      int nq = std::atoi (item.c_str ());
      if (nq <= 0)
        continue;
      std::vector<float> q ((size_t) nq * dim);
      for (auto &v : q)
        v = next_float ();
      std::vector<float> d ((size_t) nq * k);
      std::vector<faiss::Index::idx_t> ids ((size_t) nq * k);
      double best = 1e30, best_cpu = 1e30;
      for (int r = 0; r < repeat + 1; r++)
        {
          auto t0 = std::chrono::steady_clock::now ();
          double c0 = cpu_seconds ();
          index.search (nq, q.data (), k, d.data (), ids.data ());
          double t = std::chrono::duration<double> (std::chrono::steady_clock::now () - t0).count ();
          double c = cpu_seconds () - c0;
          if (r > 0 && t < best)
            best = t;
          if (r > 0 && c < best_cpu)
            best_cpu = c;
        }
      std::printf ("%8d %12.1f %14.2f %14.1f %16.2f\n", nq, best * 1e3, best * 1e3 / nq, best_cpu * 1e3,
                   best_cpu * 1e3 / nq);
    }
  return 0;
}
