// sipdetect benchmarks: what the memory system charges per record, apart
// from any detector logic. Each record touches `tables` random entries (one
// table per detector) of one 64-byte line, or of two lines (one entry per
// address shared by both detectors), found either directly from the hash
// ("direct") or through an 8-byte index bucket first ("indexed", the layout
// of detail::flat_table). Lookups are prefetched ahead as feed_all() does.
// Two last benchmarks measure the first touch of a page, which a detector
// pays for every page its tables grow into: of memory this process has
// never held, and of memory it held and gave back. See bench/README.md
// "Running it" and "Current results".
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

template <std::size_t Lines>
struct alignas(64) entry {
    std::uint64_t words[8 * Lines];
};

std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

template <std::size_t Lines>
struct tables {
    std::vector<std::unique_ptr<entry<Lines>[]>> data;
    std::vector<std::vector<std::uint64_t>> index; // 8-byte buckets: hash fragment and position, as flat_table
    std::vector<std::uint64_t> keys;

    explicit tables(std::size_t count) {
        for (std::size_t t = 0; t < count; ++t) {
            data.emplace_back(new entry<Lines>[entries]);
            for (std::size_t i = 0; i < entries; ++i) {
                data.back()[i] = entry<Lines>{};
                for (std::size_t line = 0; line < Lines; ++line) data.back()[i].words[8 * line] = i + line;
            }
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

// A word of each line of the entry: a record reads all of its entry.
template <std::size_t Lines>
std::uint64_t read_entry(const entry<Lines>& e) noexcept {
    std::uint64_t sum = 0;
    for (std::size_t line = 0; line < Lines; ++line) sum += e.words[8 * line];
    return sum;
}

// Sum of the entries each record reads: what every pass must reproduce.
template <bool Indexed, std::size_t Lines>
std::uint64_t expected_sum(const tables<Lines>& tb) {
    std::uint64_t sum = 0;
    for (std::uint64_t key : tb.keys)
        for (std::size_t t = 0; t < tb.data.size(); ++t)
            sum += read_entry(tb.data[t][Indexed ? tb.indexed(t, key) : tb.direct(t, key)]);
    return sum;
}

template <bool Indexed, std::size_t Lines = 1>
void lookups(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const tables<Lines> tb(count);
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
                        for (std::size_t line = 0; line < Lines; ++line)
                            __builtin_prefetch(&tb.data[t][tb.indexed(t, tb.keys[i + entry_ahead])].words[8 * line]);
            }
            for (std::size_t t = 0; t < count; ++t)
                sum += read_entry(tb.data[t][Indexed ? tb.indexed(t, tb.keys[i]) : tb.direct(t, tb.keys[i])]);
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

// First write to each 4 KiB page of a new anonymous mapping. The first
// benchmark to run gets memory this process has never held: on a VM whose
// host takes back what a guest frees, that costs several times what pages
// recycled within the process cost, which the second one measures by mapping
// the same size again after each munmap.
constexpr std::size_t touched_bytes = std::size_t{1} << 30, page = 4096;

bool touch_new_mapping() {
    void* p = mmap(nullptr, touched_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    auto* bytes_at = static_cast<volatile unsigned char*>(p);
    for (std::size_t off = 0; off < touched_bytes; off += page) bytes_at[off] = 1;
    munmap(p, touched_bytes);
    return true;
}

void first_touch(benchmark::State& state) {
    std::size_t pages = 0;
    for (auto _ : state) {
        if (!touch_new_mapping()) {
            state.SkipWithError("mmap failed");
            return;
        }
        pages += touched_bytes / page;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(pages));
    using benchmark::Counter;
    state.counters["per_page"] = Counter(static_cast<double>(pages), Counter::kIsRate | Counter::kInvert);
    state.counters["per_64B_entry"] =
        Counter(static_cast<double>(pages * (page / 64)), Counter::kIsRate | Counter::kInvert);
}

} // namespace

// Registration order is run order: the never-held memory must come first.
BENCHMARK(first_touch)->Name("first_touch_never_held")->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(first_touch)->Name("first_touch_recycled")->Iterations(4)->Unit(benchmark::kMillisecond);
BENCHMARK(lookups<false>)->Name("direct_lines")->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK(lookups<true>)->Name("indexed_lines")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(lookups<true, 2>)->Name("indexed_two_line_entry")->Arg(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
