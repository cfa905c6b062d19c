// sipdetect benchmark suite: throughput and state size of scan_detector and
// proxy_detector against a naive baseline and a hashing floor, on synthetic
// workloads (workload.hpp). Every pass checks what it detected; a wrong
// answer fails the run (and the process exit status). See bench/README.md.
#include "heap_counter.hpp"
#include "naive.hpp"
#include "workload.hpp"

#include <sipdetect/sipdetect.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace bench {
namespace {

using sipdetect::ip_address;
using scan_detector = sipdetect::scan_detector<sip_flow>;
using proxy_detector = sipdetect::proxy_detector<sip_flow>;

// ---------------------------------------------------------------------------
// Settings (reference.md section 6)

constexpr std::size_t max_tracked = 4'000'000; // nothing is evicted on the full mix (~2 M entries)
constexpr std::size_t poll_every = 10'000;     // records: one second of record time, as a collector's timer

sipdetect::scan_config scan_settings() {
    sipdetect::scan_config c;
    c.threshold = scan_threshold;
    c.max_distinct = 256; // >= threshold
    c.max_tracked = max_tracked;
    c.hash_seed = 0x5eed5ca9u; // fixed: the tables' layout, and so their probes, are the same in every run
    return c;
}

sipdetect::proxy_config proxy_settings() {
    sipdetect::proxy_config c;
    c.min_uris = proxy_min_uris;
    c.closed_season = sipdetect::record_duration::zero();
    c.max_candidates = max_tracked;
    c.hash_seed = 0x5eedf00du; // fixed, as scan_settings()'s
    return c;
}

// ---------------------------------------------------------------------------
// Workloads: built on first use and kept until another one is asked for, so
// only one lives at a time (the benchmarks are registered workload by workload).

double g_scale = 1.0;

const workload& get_workload(workload_id id) {
    static std::unique_ptr<workload> current;
    if (!current || current->id != id) {
        current.reset();
        current = make_workload(id, sizes_for(g_scale));
    }
    return *current;
}

// ---------------------------------------------------------------------------
// One full pass over a workload with fresh state. Construction, statistics
// and destruction are outside `seconds`; feeding, periodic poll() and the
// final poll() + flush() (or the naive verdicts) are inside.

// The timed regions use this thread's CPU time: the machine the numbers come
// from is shared, and descheduled time is not the detectors' cost. Each mark
// also reads the thread's minor page faults, so that a slow pass shows whether
// faults were its cost (bench/README.md, "Current results": on the VM
// measured they were not).
struct cpu_mark {
    double seconds = 0;
    std::int64_t minor_faults = 0;
};
struct cpu_clock {
    static cpu_mark now() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        rusage usage{};
        getrusage(RUSAGE_THREAD, &usage);
        return {static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9,
                static_cast<std::int64_t>(usage.ru_minflt)};
    }
};

struct pass_result {
    double seconds = 0;
    std::int64_t minor_faults = 0;      // page faults inside the timed region
    std::size_t scanners = 0, proxies = 0;
    std::size_t vertical = 0;           // scanners whose scan started as vertical
    double scan_bytes_per_entry = -1;   // scan stats: memory_bytes / tracked
    double proxy_bytes_per_entry = -1;  // proxy stats: memory_bytes / (candidates + proxies)
    double heap_bytes_per_source = -1;  // live heap added by the state / distinct requesters
    std::string problem;                // non-empty: the result is wrong
};

// Adds the span from a to b to the pass's time and faults.
void add_span(pass_result& r, const cpu_mark& a, const cpu_mark& b) {
    r.seconds += b.seconds - a.seconds;
    r.minor_faults += b.minor_faults - a.minor_faults;
}

template <class F>
void for_each_chunk(const std::vector<sip_flow>& records, F&& f) {
    const std::span<const sip_flow> all(records);
    for (std::size_t i = 0; i < all.size(); i += poll_every) f(all.subspan(i, std::min(poll_every, all.size() - i)));
}

struct scan_starts {
    std::vector<ip_address> sources, vertical;
};
void note_starts(const std::vector<sipdetect::scan_event>& events, scan_starts& out) {
    for (const auto& e : events) {
        if (e.phase != sipdetect::scan_phase::start) continue;
        out.sources.push_back(e.source);
        if (e.kind == sipdetect::scan_kind::vertical) out.vertical.push_back(e.source);
    }
}
void note_proxies(const std::vector<sipdetect::proxy_event>& events, std::vector<ip_address>& out) {
    for (const auto& e : events) out.push_back(e.source);
}
std::size_t distinct(std::vector<ip_address> v) {
    std::sort(v.begin(), v.end());
    return static_cast<std::size_t>(std::unique(v.begin(), v.end()) - v.begin());
}

void check_count(pass_result& r, const char* what, std::size_t got, std::size_t expected) {
    if (got == expected || !r.problem.empty()) return;
    r.problem = std::string("wrong result: ") + what + " detected " + std::to_string(got) + ", expected " +
                std::to_string(expected);
}

double per(std::uint64_t bytes, std::uint64_t count) {
    return count == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(count);
}
double heap_per_source(std::int64_t before, std::int64_t after, std::size_t sources) {
    return sources == 0 ? 0.0 : static_cast<double>(after - before) / static_cast<double>(sources);
}

// Every record must be read and none dropped: "0 scanners" on the
// background is only an answer if the detector looked at all of it.
void check_scan_stats(pass_result& r, const workload& w, const sipdetect::scan_stats& s) {
    if (!r.problem.empty()) return;
    if (s.records != w.records.size() || s.requests != w.scan_requests)
        r.problem = "scan_detector counted " + std::to_string(s.records) + " records and " +
                    std::to_string(s.requests) + " requests, expected " + std::to_string(w.records.size()) +
                    " and " + std::to_string(w.scan_requests);
    else if (s.malformed_dropped != 0 || s.late_dropped != 0 || s.future_dropped != 0)
        r.problem = "scan_detector dropped records (malformed, late or future)";
    else if (s.sources_evicted != 0 || s.sources_rejected != 0)
        r.problem = "scan_detector evicted " + std::to_string(s.sources_evicted) + " and rejected " +
                    std::to_string(s.sources_rejected) + " sources: raise max_tracked";
}
void check_proxy_stats(pass_result& r, const workload& w, const sipdetect::proxy_stats& s) {
    if (!r.problem.empty()) return;
    if (s.records != w.records.size() || s.candidates + s.proxies != w.sources)
        r.problem = "proxy_detector counted " + std::to_string(s.records) + " records and " +
                    std::to_string(s.candidates + s.proxies) + " requesters, expected " +
                    std::to_string(w.records.size()) + " and " + std::to_string(w.sources);
    else if (s.malformed_dropped != 0 || s.late_dropped != 0 || s.future_dropped != 0)
        r.problem = "proxy_detector dropped records (malformed, late or future)";
    else if (s.candidates_evicted != 0 || s.candidates_rejected != 0 || s.proxies_evicted != 0)
        r.problem = "proxy_detector evicted or rejected candidates: raise max_candidates";
}
double scan_bytes(const sipdetect::scan_stats& s) { return per(s.memory_bytes, s.tracked); }
double proxy_bytes(const sipdetect::proxy_stats& s) { return per(s.memory_bytes, s.candidates + s.proxies); }

pass_result scan_pass(const workload& w) {
    pass_result r;
    scan_starts starts;
    starts.sources.reserve(w.expected_scanners * 2 + 64);
    starts.vertical.reserve(w.expected_scanners + 64);
    const std::int64_t heap0 = live_heap_bytes();
    auto det = std::make_unique<scan_detector>(scan_settings());
    const auto t0 = cpu_clock::now();
    for_each_chunk(w.records, [&](std::span<const sip_flow> chunk) {
        det->feed(chunk);
        note_starts(det->poll(), starts);
    });
    const auto t1 = cpu_clock::now();
    const sipdetect::scan_stats stats = det->stats();
    const std::int64_t heap1 = live_heap_bytes();
    const auto t2 = cpu_clock::now();
    note_starts(det->poll(), starts);
    note_starts(det->flush(), starts);
    const auto t3 = cpu_clock::now();
    add_span(r, t0, t1);
    add_span(r, t2, t3);
    r.scanners = distinct(std::move(starts.sources));
    r.vertical = distinct(std::move(starts.vertical));
    r.scan_bytes_per_entry = scan_bytes(stats);
    r.heap_bytes_per_source = heap_per_source(heap0, heap1, w.sources);
    check_count(r, "scanners", r.scanners, w.expected_scanners);
    check_count(r, "vertical scanners", r.vertical, w.expected_vertical);
    check_scan_stats(r, w, stats);
    return r;
}

pass_result proxy_pass(const workload& w) {
    pass_result r;
    std::vector<ip_address> found;
    found.reserve(w.expected_proxies * 2 + 64);
    const std::int64_t heap0 = live_heap_bytes();
    auto det = std::make_unique<proxy_detector>(proxy_settings());
    const auto t0 = cpu_clock::now();
    for_each_chunk(w.records, [&](std::span<const sip_flow> chunk) {
        det->feed(chunk);
        note_proxies(det->poll(), found);
    });
    const auto t1 = cpu_clock::now();
    const sipdetect::proxy_stats stats = det->stats();
    const std::int64_t heap1 = live_heap_bytes();
    const auto t2 = cpu_clock::now();
    note_proxies(det->poll(), found);
    note_proxies(det->flush(), found);
    const auto t3 = cpu_clock::now();
    add_span(r, t0, t1);
    add_span(r, t2, t3);
    r.proxies = distinct(std::move(found));
    r.proxy_bytes_per_entry = proxy_bytes(stats);
    r.heap_bytes_per_source = heap_per_source(heap0, heap1, w.sources);
    check_count(r, "proxies", r.proxies, w.expected_proxies);
    check_proxy_stats(r, w, stats);
    return r;
}

// What an integrator runs: every record goes to both detectors.
pass_result both_pass(const workload& w) {
    pass_result r;
    scan_starts starts;
    std::vector<ip_address> found;
    starts.sources.reserve(w.expected_scanners * 2 + 64);
    starts.vertical.reserve(w.expected_scanners + 64);
    found.reserve(w.expected_proxies * 2 + 64);
    const std::int64_t heap0 = live_heap_bytes();
    auto scans = std::make_unique<scan_detector>(scan_settings());
    auto proxies = std::make_unique<proxy_detector>(proxy_settings());
    const auto t0 = cpu_clock::now();
    for_each_chunk(w.records, [&](std::span<const sip_flow> chunk) {
        sipdetect::feed_all(chunk, *scans, *proxies); // one pass, table lookups prefetched
        note_starts(scans->poll(), starts);
        note_proxies(proxies->poll(), found);
    });
    const auto t1 = cpu_clock::now();
    const sipdetect::scan_stats scan_stats = scans->stats();
    const sipdetect::proxy_stats proxy_stats = proxies->stats();
    const std::int64_t heap1 = live_heap_bytes();
    const auto t2 = cpu_clock::now();
    note_starts(scans->poll(), starts);
    note_starts(scans->flush(), starts);
    note_proxies(proxies->poll(), found);
    note_proxies(proxies->flush(), found);
    const auto t3 = cpu_clock::now();
    add_span(r, t0, t1);
    add_span(r, t2, t3);
    r.scanners = distinct(std::move(starts.sources));
    r.vertical = distinct(std::move(starts.vertical));
    r.proxies = distinct(std::move(found));
    r.scan_bytes_per_entry = scan_bytes(scan_stats);
    r.proxy_bytes_per_entry = proxy_bytes(proxy_stats);
    r.heap_bytes_per_source = heap_per_source(heap0, heap1, w.sources);
    check_count(r, "scanners", r.scanners, w.expected_scanners);
    check_count(r, "vertical scanners", r.vertical, w.expected_vertical);
    check_count(r, "proxies", r.proxies, w.expected_proxies);
    check_scan_stats(r, w, scan_stats);
    check_proxy_stats(r, w, proxy_stats);
    return r;
}

pass_result naive_pass(const workload& w) {
    pass_result r;
    const std::int64_t heap0 = live_heap_bytes();
    auto det = std::make_unique<naive_detector>(scan_threshold, scan_settings().max_success_share, proxy_min_uris,
                                                proxy_settings().min_success_share);
    const auto t0 = cpu_clock::now();
    for (const sip_flow& f : w.records) det->feed(f);
    const auto t1 = cpu_clock::now();
    const std::int64_t heap1 = live_heap_bytes();
    const std::size_t tracked = det->tracked();
    const auto t2 = cpu_clock::now();
    r.scanners = det->scanners();
    r.vertical = det->vertical_scans();
    r.proxies = det->proxies();
    const auto t3 = cpu_clock::now();
    add_span(r, t0, t1);
    add_span(r, t2, t3);
    r.heap_bytes_per_source = heap_per_source(heap0, heap1, tracked);
    check_count(r, "scanners", r.scanners, w.expected_scanners);
    check_count(r, "vertical scanners", r.vertical, w.expected_vertical);
    check_count(r, "proxies", r.proxies, w.expected_proxies);
    return r;
}

// The least any detector must do: read each record and hash the two
// addresses, the called user and the From URI with the library's hashes.
pass_result floor_pass(const workload& w) {
    using traits = sipdetect::record_traits<sip_flow>;
    namespace d = sipdetect::detail;
    const std::uint64_t seed = *scan_settings().hash_seed;
    pass_result r;
    std::uint64_t acc = 0;
    std::size_t n = 0;
    const auto t0 = cpu_clock::now();
    for (const sip_flow& f : w.records) {
        std::string_view user = sipdetect::uri_user(traits::to_uri(f));
        if (user.empty()) user = sipdetect::uri_user(traits::request_uri(f));
        acc += d::hash_address(traits::source(f), seed) ^ d::hash_address(traits::destination(f), seed);
        acc += d::hash_bytes(user, seed) ^ d::hash_bytes(traits::from_uri(f), seed);
        ++n;
    }
    benchmark::DoNotOptimize(acc);
    const auto t1 = cpu_clock::now();
    add_span(r, t0, t1);
    if (n != w.records.size() || acc == 0) r.problem = "floor: did not read every record";
    return r;
}

// ---------------------------------------------------------------------------
// Registration

enum class check { none, scanners, proxies, both };

void run(benchmark::State& state, workload_id id, pass_result (*pass)(const workload&), check what) {
    const workload& w = get_workload(id);
    pass_result last;
    for (auto _ : state) {
        last = pass(w);
        if (!last.problem.empty()) {
            state.SkipWithError(last.problem.c_str());
            return;
        }
        state.SetIterationTime(last.seconds);
    }
    const auto records = static_cast<std::int64_t>(w.records.size());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * records);
    using benchmark::Counter;
    state.counters["per_record"] =
        Counter(static_cast<double>(records), Counter::kIsIterationInvariantRate | Counter::kInvert);
    if (what == check::scanners || what == check::both) {
        state.counters["scanners"] = Counter(static_cast<double>(last.scanners));
        state.counters["vertical"] = Counter(static_cast<double>(last.vertical));
    }
    if (what == check::proxies || what == check::both)
        state.counters["proxies"] = Counter(static_cast<double>(last.proxies));
    if (last.scan_bytes_per_entry >= 0) state.counters["scan_B_per_entry"] = Counter(last.scan_bytes_per_entry);
    if (last.proxy_bytes_per_entry >= 0) state.counters["proxy_B_per_entry"] = Counter(last.proxy_bytes_per_entry);
    if (last.heap_bytes_per_source >= 0) state.counters["heap_B_per_src"] = Counter(last.heap_bytes_per_source);
    state.counters["faults_per_1k"] =
        Counter(1000.0 * static_cast<double>(last.minor_faults) / static_cast<double>(records));
}

void register_all() {
    struct impl {
        const char* name;
        pass_result (*pass)(const workload&);
        check what;
    };
    const impl impls[] = {
        {"floor", floor_pass, check::none},   {"scan", scan_pass, check::scanners},
        {"proxy", proxy_pass, check::proxies}, {"both", both_pass, check::both},
        {"naive", naive_pass, check::both},
    };
    for (const workload_id id : all_workloads) {
        for (const impl& i : impls) {
            const std::string name = std::string(i.name) + "/" + name_of(id);
            benchmark::RegisterBenchmark(name.c_str(),
                                         [id, i](benchmark::State& state) { run(state, id, i.pass, i.what); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
        }
    }
}

// ---------------------------------------------------------------------------
// Console output plus a summary of ratios from the same run.

class summary_reporter final : public benchmark::ConsoleReporter {
public:
    explicit summary_reporter(OutputOptions options) : ConsoleReporter(options) {}

    // A display reporter passed to RunSpecifiedBenchmarks() does not see
    // --benchmark_color and --benchmark_counters_tabular, so read them here
    // (same defaults as the library: color when stdout is a terminal, no table).
    static OutputOptions options_from(int argc, char** argv) {
        bool color = isatty(STDOUT_FILENO) != 0;
        bool tabular = false;
        auto truthy = [](std::string_view v) { return v == "true" || v == "yes" || v == "1" || v == "on"; };
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            if (arg.starts_with("--benchmark_color=")) {
                const std::string_view v = arg.substr(18);
                if (v != "auto") color = truthy(v);
            } else if (arg.starts_with("--benchmark_counters_tabular=")) {
                tabular = truthy(arg.substr(29));
            }
        }
        return static_cast<OutputOptions>((color ? OO_Color : OO_None) | (tabular ? OO_Tabular : OO_None));
    }

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.error_occurred) {
                failures_.push_back(run.benchmark_name() + ": " + run.error_message);
                continue;
            }
            if (run.run_type != Run::RT_Iteration) continue;
            for (const auto& [counter, value] : run.counters)
                values_[run.run_name.function_name + "#" + counter].push_back(value.value);
        }
    }

    const std::vector<std::string>& failures() const noexcept { return failures_; }

    // With --benchmark_repetitions=N, a benchmark's first pass gets fresh
    // memory from the system and the later ones reuse what it freed. On the
    // VMs measured the two differ by up to a third of a pass (bench/README.md,
    // "Running it"), so the ratios are given for each.
    void print_summary(std::FILE* out) const {
        std::fprintf(out, "\nsummary (same run, records/s from items_per_second):\n");
        const bool repeated =
            std::any_of(values_.begin(), values_.end(), [](const auto& v) { return v.second.size() > 1; });
        if (!repeated) {
            print_ratios(out, pass::all);
        } else {
            std::fprintf(out, " first pass of each benchmark (fresh memory):\n");
            print_ratios(out, pass::first);
            std::fprintf(out, " later passes, mean (memory reused):\n");
            print_ratios(out, pass::later);
        }
        // The issue's yardstick: live heap per tracked source address, from
        // the counting allocator. A phone has one scan entry per submethod it
        // uses, so per address is more than stats()'s per entry (also shown).
        // The target counts both detectors together (issue 25, section 6).
        for (const char* impl : {"scan", "proxy"}) {
            const double per_source = get(std::string(impl) + "/background", "heap_B_per_src", pass::all);
            if (per_source > 0)
                std::fprintf(out, "  background %-5s state = %4.0f B per source address\n", impl, per_source);
        }
        const double both_per_source = get("both/background", "heap_B_per_src", pass::all);
        if (both_per_source > 0)
            std::fprintf(out, "  background both  state = %4.0f B per source address (target <= 160 B)  %s\n",
                         both_per_source, both_per_source <= 160 ? "met" : "NOT MET");
        const double scan_entry = get("scan/background", "scan_B_per_entry", pass::all);
        const double proxy_entry = get("proxy/background", "proxy_B_per_entry", pass::all);
        if (scan_entry > 0 && proxy_entry > 0)
            std::fprintf(out, "  background per table entry: scan %.0f B, proxy %.0f B\n", scan_entry, proxy_entry);
        const double scanner = get("both/scanners", "heap_B_per_src", pass::all);
        const double proxy = get("both/proxies", "heap_B_per_src", pass::all);
        if (scanner > 0 && proxy > 0)
            std::fprintf(out, "  heavy sources, both detectors: %.0f B per scanner, %.0f B per proxy (capped by "
                              "max_distinct and the sample sizes, not by their targets)\n",
                         scanner, proxy);
        for (const std::string& f : failures_) std::fprintf(out, "  FAILED %s\n", f.c_str());
        std::fflush(out);
    }

private:
    enum class pass : std::uint8_t { all, first, later };

    void print_ratios(std::FILE* out, pass which) const {
        for (const workload_id id : all_workloads) {
            const std::string w = name_of(id);
            const double both = get("both/" + w, "items_per_second", which);
            const double naive = get("naive/" + w, "items_per_second", which);
            const double floor = get("floor/" + w, "items_per_second", which);
            if (both > 0 && naive > 0)
                std::fprintf(out, "  %-10s both detectors / naive  = %7.1fx  (target >= 30x)  %s\n", w.c_str(),
                             both / naive, both / naive >= 30 ? "met" : "NOT MET");
            if (both > 0 && floor > 0)
                std::fprintf(out, "  %-10s floor / both detectors  = %7.1fx  (target <= 3x)   %s\n", w.c_str(),
                             floor / both, floor / both <= 3 ? "met" : "NOT MET");
        }
    }

    // The mean over the chosen passes, -1 when there is none.
    double get(const std::string& benchmark, const std::string& counter, pass which) const {
        const auto it = values_.find(benchmark + "#" + counter);
        if (it == values_.end()) return -1.0;
        const std::vector<double>& v = it->second;
        const std::size_t from = which == pass::later ? 1 : 0;
        const std::size_t to = which == pass::first ? std::min<std::size_t>(1, v.size()) : v.size();
        if (from >= to) return -1.0;
        double sum = 0;
        for (std::size_t i = from; i < to; ++i) sum += v[i];
        return sum / static_cast<double>(to - from);
    }

    std::map<std::string, std::vector<double>> values_; // per counter, one value per pass in run order
    std::vector<std::string> failures_;
};

} // namespace
} // namespace bench

int main(int argc, char** argv) {
    try {
        bench::g_scale = bench::bench_scale();
    } catch (const std::exception& e) {
        std::cerr << e.what() << '\n';
        return 2;
    }
    bench::summary_reporter reporter(bench::summary_reporter::options_from(argc, argv));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const bench::workload_sizes s = bench::sizes_for(bench::g_scale);
    benchmark::AddCustomContext("sipdetect_bench_scale", std::to_string(bench::g_scale));
    benchmark::AddCustomContext(
        "sipdetect_bench_workload",
        std::to_string(s.background_sources) + " background sources, " + std::to_string(s.scanners) + " scanners x " +
            std::to_string(s.scan_targets) + " targets, " + std::to_string(s.proxies) + " proxies x " +
            std::to_string(s.proxy_uris) + " From URIs");
    std::string counts;
    for (const bench::workload_id id : bench::all_workloads)
        counts += (counts.empty() ? "" : ", ") + std::string(bench::name_of(id)) + " " +
                  std::to_string(bench::record_count(id, s));
    benchmark::AddCustomContext("sipdetect_bench_records", counts);
    bench::register_all();

    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_summary(stdout);
    benchmark::Shutdown();
    return reporter.failures().empty() ? 0 : 1;
}
