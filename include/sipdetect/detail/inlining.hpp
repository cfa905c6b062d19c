// sipdetect: the inlining hints the hot path relies on.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
// GCC finds a function whose only effect is a prefetch "pure" and deletes
// calls to it before inlining; forced inlining keeps the prefetch.
#define SIPDETECT_DETAIL_PREFETCHING [[gnu::always_inline]]
// For the per-record steps that have one hot caller. GCC does not inline a
// template member called once (another translation unit may call it too),
// so each step would pay a call and its register saves on every record.
#define SIPDETECT_DETAIL_HOT_STEP [[gnu::always_inline]] inline
#else
#define SIPDETECT_DETAIL_PREFETCHING
#define SIPDETECT_DETAIL_HOT_STEP inline
#endif
