// sipdetect benchmarks: what the memory system charges per record, apart
// from any detector logic. Each record touches `tables` random 64-byte
// entries (one table per detector), found either directly from the hash
// ("direct") or through an 8-byte index bucket first ("indexed", the layout
// of detail::flat_table). Lookups are prefetched ahead as feed_all() does.
// A last benchmark measures the first touch of fresh memory, which a
// detector pays for every page its tables grow into. See bench/README.md
// "Where the time goes now".
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <sys/mman.h>

namespace {

constexpr std::size_t entries = std::size_t{1} << 20; // 64 MiB per table, as 1 M sources
// flat_table keeps its index at most 3/4 full, so 2^20 entries sit in 2^21 buckets.
constexpr std::size_t buckets = entries * 2;
constexpr std::size_t records = 4'000'000;
constexpr std::size_t ahead = 16, entry_ahead = 8;

struct alignas(64) entry {
    std::uint64_t words[8];
};

std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

struct tables {
    std::vector<std::unique_ptr<entry[]>> data;
    std::vector<std::vector<std::uint64_t>> index; // 8-byte buckets: hash fragment and position, as flat_table
    std::vector<std::uint64_t> keys;

    explicit tables(std::size_t count) {
        for (std::size_t t = 0; t < count; ++t) {
            data.emplace_back(new entry[entries]);
            for (std::size_t i = 0; i < entries; ++i) data.back()[i] = entry{{i, 0, 0, 0, 0, 0, 0, 0}};
            index.emplace_back(buckets);
            for (std::size_t b = 0; b < buckets; ++b)
                index.back()[b] = (mix(b + t) & 0xffffffff00000000ULL) | (mix(b ^ t) & (entries - 1));
        }
        keys.resize(records);
        for (std::size_t i = 0; i < records; ++i) keys[i] = mix(i * 7 + 1);
    }
    std::size_t direct(std::size_t t, std::uint64_t key) const noexcept { return (key >> (t * 8)) & (entries - 1); }
    std::size_t bucket(std::size_t t, std::uint64_t key) const noexcept { return (key >> (t * 8)) & (buckets - 1); }
    std::size_t indexed(std::size_t t, std::uint64_t key) const noexcept {
        return static_cast<std::size_t>(index[t][bucket(t, key)] & 0xffffffffu);
    }
};

// Sum of the entries each record reads: what every pass must reproduce.
template <bool Indexed>
std::uint64_t expected_sum(const tables& tb) {
    std::uint64_t sum = 0;
    for (std::uint64_t key : tb.keys)
        for (std::size_t t = 0; t < tb.data.size(); ++t)
            sum += tb.data[t][Indexed ? tb.indexed(t, key) : tb.direct(t, key)].words[0];
    return sum;
}

template <bool Indexed>
void lookups(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const tables tb(count);
    const std::uint64_t expected = expected_sum<Indexed>(tb);
    for (auto _ : state) {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < records; ++i) {
            if (i + ahead < records) {
                for (std::size_t t = 0; t < count; ++t) {
                    if constexpr (Indexed) __builtin_prefetch(&tb.index[t][tb.bucket(t, tb.keys[i + ahead])]);
                    else __builtin_prefetch(&tb.data[t][tb.direct(t, tb.keys[i + ahead])]);
                }
            }
            if constexpr (Indexed) {
                if (i + entry_ahead < records)
                    for (std::size_t t = 0; t < count; ++t)
                        __builtin_prefetch(&tb.data[t][tb.indexed(t, tb.keys[i + entry_ahead])]);
            }
            for (std::size_t t = 0; t < count; ++t)
                sum += tb.data[t][Indexed ? tb.indexed(t, tb.keys[i]) : tb.direct(t, tb.keys[i])].words[0];
        }
        if (sum != expected) {
            state.SkipWithError("wrong sum: a lookup read the wrong entry");
            return;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(records));
    state.counters["per_record"] = benchmark::Counter(static_cast<double>(records),
                                                      benchmark::Counter::kIsIterationInvariantRate |
                                                          benchmark::Counter::kInvert);
}

// First write to each 4 KiB page of a fresh anonymous mapping.
void first_touch(benchmark::State& state) {
    constexpr std::size_t bytes = std::size_t{256} << 20, page = 4096;
    std::size_t pages = 0;
    for (auto _ : state) {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            state.SkipWithError("mmap failed");
            return;
        }
        auto* bytes_at = static_cast<volatile unsigned char*>(p);
        for (std::size_t off = 0; off < bytes; off += page) bytes_at[off] = 1;
        pages += bytes / page;
        state.PauseTiming();
        munmap(p, bytes);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(pages));
    using benchmark::Counter;
    state.counters["per_page"] = Counter(static_cast<double>(pages), Counter::kIsRate | Counter::kInvert);
    state.counters["per_64B_entry"] =
        Counter(static_cast<double>(pages * (page / 64)), Counter::kIsRate | Counter::kInvert);
}

} // namespace

BENCHMARK(lookups<false>)->Name("direct_lines")->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK(lookups<true>)->Name("indexed_lines")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(first_touch)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
