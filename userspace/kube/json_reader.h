// JsonReader: typed access to the fields of a simdjson DOM object for the Pod and Node parsers.
// Accessors return nullopt for an absent field (or JSON null); a field of the wrong type records
// the first error, which names the object and the field path. Parsers read on after an error
// (nothing can crash on a wrong value) and check failed() once.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "egressd/common/error.h"
#include "egressd/common/ip.h"

namespace egressd::kube {

// Where a field sits, rendered only when an error is reported: parent "status.podIPs" and
// index 1 is "status.podIPs[1]"; the field key is appended by the accessor.
struct JsonPath {
  std::string_view parent;
  int64_t index = -1;
};

// `"text"` with control characters escaped and long text shortened, for one-line messages.
[[nodiscard]] std::string quote(std::string_view text);

class JsonReader {
 public:
  // `where` ("items[3]") and `kind` ("Pod") must outlive the reader.
  JsonReader(std::string_view where, std::string_view kind) : where_(where), kind_(kind) {}

  // Names the object in later errors; the views must outlive the reader.
  void set_object(std::string_view ns, std::string_view name) {
    namespace_ = ns;
    name_ = name;
  }

  std::optional<simdjson::dom::object> as_object(simdjson::dom::element e, const JsonPath& at);
  std::optional<simdjson::dom::object> get_object(simdjson::dom::object parent,
                                                  std::string_view key, const JsonPath& at);
  std::optional<simdjson::dom::array> get_array(simdjson::dom::object parent, std::string_view key,
                                                const JsonPath& at);
  std::optional<std::string_view> get_string(simdjson::dom::object parent, std::string_view key,
                                             const JsonPath& at);
  std::optional<bool> get_bool(simdjson::dom::object parent, std::string_view key,
                               const JsonPath& at);
  // An IPv4 or IPv6 literal; anything else records "invalid IP address".
  std::optional<IpAddr> parse_ip(std::string_view text, const JsonPath& at, std::string_view key);
  // Records that a required field is absent (or empty).
  void missing(const JsonPath& at, std::string_view key);
  // Records a value of the right type that is not acceptable ("invalid timestamp \"x\"").
  void invalid(const JsonPath& at, std::string_view key, const std::string& problem) {
    record(at, key, problem);
  }

  [[nodiscard]] bool failed() const noexcept { return error_.has_value(); }
  // The first recorded error (Errc::kParse); only valid when failed().
  [[nodiscard]] Error take_error();

 private:
  std::optional<simdjson::dom::element> lookup(simdjson::dom::object parent, std::string_view key);
  void type_error(const JsonPath& at, std::string_view key, std::string_view expected,
                  simdjson::dom::element got);
  void record(const JsonPath& at, std::string_view key, const std::string& problem);

  std::string_view where_;
  std::string_view kind_;
  std::string_view namespace_;
  std::string_view name_;
  std::optional<Error> error_;
};

}  // namespace egressd::kube
