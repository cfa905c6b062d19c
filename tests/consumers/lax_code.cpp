// The consuming project's own code, written to its own standards, not
// sipdetect's: clean under the compiler's default warnings, yet flagged by
// -Wconversion, -Wsign-conversion, -Wold-style-cast, -Wshadow and
// -Wdouble-promotion. run.sh fails a consumer whose build prints any warning,
// so sipdetect's warning flags or -Werror reaching consumers through
// sipdetect::sipdetect (or the .pc file) fail the packaging test.
#include <sipdetect/sipdetect.hpp>

int consumer_lax_code(long wide, unsigned count, float scale);
int consumer_lax_code(long wide, unsigned count, float scale) {
    int narrowed = wide;                  // -Wconversion
    int as_signed = count;                // -Wsign-conversion
    double ratio = (double)narrowed / 3;  // -Wold-style-cast
    ratio += scale;                       // -Wdouble-promotion
    {
        int narrowed = as_signed;         // -Wshadow
        ratio += narrowed;
    }
    return static_cast<int>(ratio);
}
