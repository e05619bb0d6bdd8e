// Hash slots and redirections, without a server (the cluster tests compare
// KeySlot with the server's CLUSTER KEYSLOT).
#include <gtest/gtest.h>

#include "plugins/storage/redis/cluster_slots.h"

namespace limify::redis {
namespace {

TEST(ClusterSlotsTest, Crc16IsXmodem) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);  // the check value of CRC-16/XMODEM
  EXPECT_EQ(Crc16(""), 0);
}

TEST(ClusterSlotsTest, HashTagsFollowTheRedisRules) {
  EXPECT_EQ(KeySlot("foo"), 12182);  // from the Redis Cluster specification
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("foo{}{bar}"), Crc16("foo{}{bar}") & 16383);  // empty tag: whole key
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));           // up to the first '}'
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("limify:{r|p|user|abc}:token_bucket:1/1s"),
            KeySlot("limify:{r|p|user|abc}:gcra:5/1m"));
}

TEST(ClusterSlotsTest, RedirectionsAreParsed) {
  Redirect r;
  ASSERT_TRUE(ParseRedirect("MOVED 3999 127.0.0.1:6381", &r));
  EXPECT_FALSE(r.ask);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.port, 6381);
  ASSERT_TRUE(ParseRedirect("ASK 1 [::1]:7000", &r));
  EXPECT_TRUE(r.ask);
  EXPECT_EQ(r.host, "::1");
  ASSERT_TRUE(ParseRedirect("MOVED 5 :7001", &r));  // empty host: the node asked
  EXPECT_EQ(r.host, "");
  EXPECT_FALSE(ParseRedirect("ERR wrong", &r));
  EXPECT_FALSE(ParseRedirect("MOVED x h:1", &r));
  EXPECT_FALSE(ParseRedirect("MOVED 16384 h:1", &r));
  EXPECT_FALSE(ParseRedirect("MOVED 5 nohostport", &r));
}

}  // namespace
}  // namespace limify::redis
