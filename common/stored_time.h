// Times as the cost database stores them: written in microseconds, held in seconds.
//
// Why not `us * 1e-6` and `s * 1e6`: each multiplication rounds, so a database that was loaded and
// saved again changed in its last digit (issue 16): 2.3 us was held as 2.2999999999999996e-06 s and
// written back as 2.2999999999999994 (about 29% of times written with 3 decimals moved so). These functions move the decimal point in the decimal text instead: the
// seconds read are the double nearest to the written decimal times 10^-6, and the microseconds
// written are the shortest decimal that reads back as the held seconds, with its point moved.
//
// What is exact, for times of at most 15 significant digits (every decimal a file or a person
// writes; every time the profiler records, as StorableSeconds rounds them):
//   SecondsFromStoredMicros(StoredMicrosFromSeconds(s)) == s        (memory -> file -> memory)
//   StoredMicrosFromSeconds(SecondsFromStoredMicros(us)) == us      (file -> memory -> file)
// A double holds any 15-digit decimal exactly enough to give it back (DBL_DIG), so neither side of
// the file loses what the other wrote. Longer doubles (16-17 digits) may move by one unit in the
// last place; StorableSeconds keeps 15 digits, far finer than any timer measures.
// Example: 2.3 us is held as the double nearest 2.3e-06 s and written back as 2.3.
#pragma once

namespace proteus {

/// Seconds from a stored microseconds value (the nearest double to its decimal times 1e-6).
double SecondsFromStoredMicros(double us);
/// The microseconds value to store for `s` (its shortest decimal times 1e6).
double StoredMicrosFromSeconds(double s);
/// `s` rounded to 15 significant digits: a time that survives any number of store/load cycles.
double StorableSeconds(double s);

}  // namespace proteus
