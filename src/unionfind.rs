//! Disjoint sets over `0..n`, shared by near-duplicate clustering and
//! identity grouping. The root of a set is always its smallest member, so
//! the grouping does not depend on the order of the unions.

/// A union-find forest with path halving; roots are the smallest members.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    /// The smallest member of `x`'s set.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Join the sets of `a` and `b`.
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_the_smallest_members_whatever_the_union_order() {
        let mut a = UnionFind::new(6);
        a.union(5, 3);
        a.union(3, 4);
        a.union(1, 2);
        let mut b = UnionFind::new(6);
        b.union(4, 3);
        b.union(2, 1);
        b.union(5, 4);
        for x in 0..6 {
            assert_eq!(a.find(x), b.find(x));
        }
        assert_eq!(a.find(5), 3);
        assert_eq!(a.find(2), 1);
        assert_eq!(a.find(0), 0);
    }
}
