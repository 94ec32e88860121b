// The accounting contract's rule against the hand-written table every source's adapter also runs.
#include "egressd/accounting.h"

#include <gtest/gtest.h>

#include "common/accounting_contract.h"

namespace egressd::accounting {
namespace {

using egressd::testing::kContract;

TEST(AccountingContract, ReportingSidesFollowTheTable) {
  for (const auto& c : kContract) {
    SCOPED_TRACE(c.name);
    const ReportingSides r = reporting_sides(c.initiator, c.responder);
    EXPECT_EQ(r.initiator, c.initiator_reports);
    EXPECT_EQ(r.responder, c.responder_reports);
    EXPECT_EQ(r.count(), (c.initiator_reports ? 1 : 0) + (c.responder_reports ? 1 : 0));
  }
}

// A source that sees one side at a time (Cilium's entries) gets the same answer per side, and a
// reason when its side does not report.
TEST(AccountingContract, VerdictPerSideMatchesTheTable) {
  for (const auto& c : kContract) {
    SCOPED_TRACE(c.name);
    for (const bool initiator : {true, false}) {
      const SideVerdict v = verdict_for(initiator, c.initiator, c.responder);
      const bool reports = initiator ? c.initiator_reports : c.responder_reports;
      const EndpointKind self = initiator ? c.initiator : c.responder;
      const EndpointKind other = initiator ? c.responder : c.initiator;
      if (reports) {
        EXPECT_EQ(v, SideVerdict::kReports);
      } else if (self == EndpointKind::kOther) {
        EXPECT_EQ(v, SideVerdict::kTransit);
      } else if (other == EndpointKind::kLocalPod) {
        EXPECT_EQ(v, SideVerdict::kPodReports);
      } else {
        EXPECT_EQ(v, SideVerdict::kInitiatorReports);
        EXPECT_FALSE(initiator) << "only a responder leaves a connection to its initiator";
      }
    }
  }
}

// The lazy form gives the same verdict for every pair of kinds, and classifies the other side
// only for a node address.
TEST(AccountingContract, LazyVerdictMatchesAndSkipsTheSecondLookup) {
  constexpr EndpointKind kKinds[] = {EndpointKind::kOther, EndpointKind::kLocalPod,
                                     EndpointKind::kLocalNode};
  for (const EndpointKind initiator : kKinds) {
    for (const EndpointKind responder : kKinds) {
      for (const bool self_is_initiator : {true, false}) {
        const EndpointKind self = self_is_initiator ? initiator : responder;
        const EndpointKind other = self_is_initiator ? responder : initiator;
        int lookups = 0;
        const SideVerdict lazy = verdict_for(self_is_initiator, self, [&] {
          ++lookups;
          return other;
        });
        EXPECT_EQ(lazy, verdict_for(self_is_initiator, initiator, responder));
        EXPECT_EQ(lookups, self == EndpointKind::kLocalNode ? 1 : 0);
      }
    }
  }
}

// The rule is usable where the kinds are known at compile time.
static_assert(reporting_sides(EndpointKind::kLocalPod, EndpointKind::kLocalPod).count() == 2);
static_assert(reporting_sides(EndpointKind::kOther, EndpointKind::kOther).none());

}  // namespace
}  // namespace egressd::accounting
