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
      if (reports) {
        EXPECT_EQ(v, SideVerdict::kReports);
      } else if (self == EndpointKind::kOther) {
        EXPECT_EQ(v, SideVerdict::kTransit);
      } else {
        EXPECT_EQ(v, SideVerdict::kOtherSideReports);
      }
    }
  }
}

// The rule is usable where the kinds are known at compile time.
static_assert(reporting_sides(EndpointKind::kLocalPod, EndpointKind::kLocalPod).count() == 2);
static_assert(reporting_sides(EndpointKind::kOther, EndpointKind::kOther).none());

}  // namespace
}  // namespace egressd::accounting
