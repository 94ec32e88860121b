// The YAML config file: a map whose keys are flag names. yaml-cpp reports errors by throwing;
// every exception is caught here and becomes one Error line, so none escapes config::parse().

#include <exception>
#include <map>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/settings.h"
#include "egressd/common/file_input.h"
#include "egressd/common/one_line.h"

namespace egressd::config::detail {
namespace {

// A config file is a few hundred bytes; anything this large is the wrong file.
constexpr uint64_t kMaxFileBytes = kMaxConfigFileBytes;

std::string at(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) return path;
  return fmt::format("{}:{}:{}", path, mark.line + 1, mark.column + 1);
}

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

const char* type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a single value";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "an undefined node";
}

Result<RawValue> read_entry(const YAML::Node& key, const YAML::Node& value,
                            const std::string& path) {
  const Origin origin{Origin::Kind::kFile, path, line_of(key)};
  if (!key.IsScalar()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("config file {}: expected a setting name as key, got {}",
                            at(path, key.Mark()), type_name(key)));
  }
  const std::string& name = key.Scalar();
  const auto index = find_setting(name);
  if (!index) {
    const auto hint = suggest(name);
    return fail(Errc::kInvalidArgument,
                fmt::format("unknown key {} ({}){}", quote(name), origin.describe(),
                            hint ? fmt::format(": did you mean \"{}\"?", *hint)
                                 : std::string(": egressd --help lists every setting")));
  }
  if (!table()[*index].allowed_in_file) {
    return fail(Errc::kInvalidArgument,
                fmt::format("key {} ({}) is not allowed: a config file cannot name another one",
                            quote(name), origin.describe()));
  }
  RawValue raw{*index, {}, std::nullopt, origin};
  if (value.IsScalar()) {
    raw.text = value.Scalar();
  } else if (value.IsSequence()) {
    raw.items.emplace();
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        return fail(Errc::kInvalidArgument,
                    fmt::format("invalid value for --{} ({}): list items must be single values, "
                                "got {}",
                                name, origin.describe(), type_name(item)));
      }
      raw.items->push_back(item.Scalar());
    }
  } else {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid value for --{} ({}): expected a value, got {}", name,
                            origin.describe(), type_name(value)));
  }
  return raw;
}

Result<std::vector<RawValue>> read_document(const YAML::Node& doc, const std::string& path) {
  std::vector<RawValue> out;
  if (doc.IsNull()) return out;  // an empty file sets nothing
  if (!doc.IsMap()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("config file {}: expected a map of settings like "
                            "\"read-interval: 5s\", got {}",
                            at(path, doc.Mark()), type_name(doc)));
  }
  std::map<size_t, int> first_line;  // setting -> line it was first set on
  for (const auto& entry : doc) {
    auto raw = read_entry(entry.first, entry.second, path);
    if (!raw) return std::unexpected(std::move(raw.error()));
    const auto [it, inserted] = first_line.emplace(raw->setting, raw->origin.line);
    if (!inserted) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("duplicate key \"{}\" ({}), first set on line {}",
                              table()[raw->setting].info.name, raw->origin.describe(), it->second));
    }
    out.push_back(std::move(*raw));
  }
  return out;
}

// The documents of a YAML stream, counted without building them. yaml-cpp 0.7's LoadAll() loops
// forever on some malformed input (",read-interval 5s": every HandleNextDocument() reports a
// document at the same place without consuming a token; found by fuzz/config_yaml_fuzz), so the
// count stops at the first document that starts where the one before it did.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

// How many documents `text` holds (0, 1, 2: two or more); a stuck parser is a YAML error at the
// place it stuck.
size_t count_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  while (counter.starts.size() < 2 && parser.HandleNextDocument(counter)) {
    const auto& s = counter.starts;
    if (s.size() == 2 && s[0].pos == s[1].pos) {
      throw YAML::ParserException(s[1], "unexpected content (no document can start here)");
    }
  }
  return counter.starts.size();
}

}  // namespace

Result<std::vector<RawValue>> parse_file_text(const std::string& text, const std::string& path) {
  try {
    const size_t documents = count_documents(text);
    if (documents == 0) return std::vector<RawValue>{};
    if (documents > 1) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("config file {}: expected one YAML document, found more", path));
    }
    return read_document(YAML::Load(text), path);
  } catch (const YAML::Exception& e) {
    // yaml-cpp quotes the input in some messages ("unknown escape character: " and the byte).
    return fail(Errc::kInvalidArgument, fmt::format("malformed YAML in config file {}: {}",
                                                    at(path, e.mark), escape_one_line(e.msg, 200)));
  } catch (const std::exception& e) {
    return fail(Errc::kInvalidArgument, fmt::format("cannot read config file {}: {}", path,
                                                    escape_one_line(e.what(), 200)));
  } catch (...) {
    return fail(Errc::kInvalidArgument, fmt::format("cannot read config file {}", path));
  }
}

Result<std::vector<RawValue>> load_file(const std::string& path, const Origin& path_origin) {
  const auto bad = [&](std::string_view why) {
    return fmt::format("invalid value {} for --config ({}): {}", quote(path),
                       path_origin.describe(), why);
  };
  auto text = read_regular_file(path, kMaxFileBytes, "");
  if (!text) return fail(text.error().code(), bad(text.error().message()));
  return parse_file_text(*text, path);
}

}  // namespace egressd::config::detail
