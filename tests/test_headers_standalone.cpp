// The real checks are the generated translation units, one per public
// header: if any header misses an include, this executable does not build.
int main() { return 0; }
