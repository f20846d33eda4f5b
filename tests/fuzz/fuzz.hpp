// Shared by the fuzz targets: an invariant that does not hold is a crash (abort), which
// libFuzzer records with the input that caused it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define FUZZ_CHECK(cond)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

// A command line from the input: "rdbox", then the NUL-separated words.
inline std::vector<std::string> fuzz_words(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words{"rdbox"};
  std::string word;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.push_back(word);
      word.clear();
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  if (!word.empty()) words.push_back(word);
  return words;
}

// argv for those words (they must outlive it), NULL-terminated.
inline std::vector<char*> fuzz_argv(std::vector<std::string>& words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return argv;
}
