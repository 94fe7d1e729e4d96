//! Who may read a video and where it is listed: the one decision every route and both
//! hosts use (API.md, "Visibility, channels and the feed"): the HTTP layer's video
//! extractors, list handlers and pages all ask [`Exposure::access`] or
//! [`Exposure::listed`] (through `Video::exposure`).

use super::{ParseError, UserId, VideoStatus};

/// A video's visibility; `Internal` (any signed-in user) is the default, today's rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Anyone, with or without a session; listed for everyone and in the feed.
    Public,
    /// Anyone with its link; listed to its owner only.
    Unlisted,
    /// Any signed-in user; listed for signed-in users.
    #[default]
    Internal,
    /// Its owner only; anyone else is told there is no such video.
    Private,
}

impl Visibility {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "public" => Ok(Self::Public),
            "unlisted" => Ok(Self::Unlisted),
            "internal" => Ok(Self::Internal),
            "private" => Ok(Self::Private),
            _ => Err(ParseError::new(
                "visibility must be public, unlisted, internal or private",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Internal => "internal",
            Self::Private => "private",
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    Anonymous,
    SignedIn(&'a UserId),
}

/// What a viewer may do with a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Readable once signed in: 401 `002` (a page sends the visitor to sign in).
    SignInFirst,
    /// As if there were no such video: 404 `005`.
    Hidden,
}

/// The facts of a video the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Exposure<'a> {
    pub author: &'a UserId,
    pub status: VideoStatus,
    pub visibility: Visibility,
}

/// Lists a video can appear in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `GET /user/{name}/videos` and the channel page.
    Author,
    /// `GET /videos` and `/explore`.
    Feed,
}

/// Whose author list is read, by whom: what a store filters an author's list by
/// ([`Audience::shows`]), which agrees with [`Exposure::listed`] cell by cell (tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The author: everything, whatever its status.
    Owner,
    /// Another signed-in user: ready public and internal videos.
    SignedIn,
    /// No session: ready public videos.
    Anonymous,
}

impl Audience {
    /// The audience of `author`'s list for `viewer`.
    pub fn of(viewer: Viewer<'_>, author: &UserId) -> Self {
        match viewer {
            Viewer::SignedIn(me) if me == author => Self::Owner,
            Viewer::SignedIn(_) => Self::SignedIn,
            Viewer::Anonymous => Self::Anonymous,
        }
    }

    /// The visibilities listed to this audience; `None` for everything (the owner,
    /// who also sees pending and rejected videos; the others see ready ones only).
    pub fn shows(self) -> Option<&'static [Visibility]> {
        match self {
            Self::Owner => None,
            Self::SignedIn => Some(&[Visibility::Public, Visibility::Internal]),
            Self::Anonymous => Some(&[Visibility::Public]),
        }
    }
}

impl Exposure<'_> {
    fn owned_by(&self, viewer: Viewer<'_>) -> bool {
        viewer == Viewer::SignedIn(self.author)
    }

    /// May `viewer` read the video (info, stream, comments, watch page)? Its owner
    /// always; anyone else only once it is ready, as its visibility says.
    pub fn access(&self, viewer: Viewer<'_>) -> Access {
        if self.owned_by(viewer) {
            return Access::Read;
        }
        if self.status != VideoStatus::Ready {
            return Access::Hidden;
        }
        match (self.visibility, viewer) {
            (Visibility::Public | Visibility::Unlisted, _) => Access::Read,
            (Visibility::Internal, Viewer::SignedIn(_)) => Access::Read,
            (Visibility::Internal, Viewer::Anonymous) => Access::SignInFirst,
            (Visibility::Private, _) => Access::Hidden,
        }
    }

    /// Is the video in `listing` for `viewer`? The owner's own list holds everything;
    /// others see ready videos only: public ones everywhere, internal ones in an
    /// author's list once signed in.
    pub fn listed(&self, viewer: Viewer<'_>, listing: Listing) -> bool {
        if listing == Listing::Author && self.owned_by(viewer) {
            return true;
        }
        if self.status != VideoStatus::Ready {
            return false;
        }
        match (listing, self.visibility) {
            (_, Visibility::Public) => true,
            (Listing::Author, Visibility::Internal) => matches!(viewer, Viewer::SignedIn(_)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::*;
    use Visibility::*;

    /// API.md's table, cell by cell: (visibility, anonymous, another user, owner).
    const READ: [(Visibility, Access, Access, Access); 4] = [
        (Public, Read, Read, Read),
        (Unlisted, Read, Read, Read),
        (Internal, SignInFirst, Read, Read),
        (Private, Hidden, Hidden, Read),
    ];

    /// (visibility, listed for anonymous, another user, owner) in an author's list, and
    /// whether it is in the feed.
    const LISTED: [(Visibility, bool, bool, bool, bool); 4] = [
        (Public, true, true, true, true),
        (Unlisted, false, false, true, false),
        (Internal, false, true, true, false),
        (Private, false, false, true, false),
    ];

    #[test]
    fn who_may_read_a_ready_video_is_the_contracts_table() {
        let (owner, other) = (UserId::new(), UserId::new());
        for (visibility, anonymous, another, own) in READ {
            let v = Exposure {
                author: &owner,
                status: VideoStatus::Ready,
                visibility,
            };
            assert_eq!(v.access(Viewer::Anonymous), anonymous, "{visibility:?}");
            assert_eq!(
                v.access(Viewer::SignedIn(&other)),
                another,
                "{visibility:?}"
            );
            assert_eq!(v.access(Viewer::SignedIn(&owner)), own, "{visibility:?}");
        }
    }

    #[test]
    fn where_a_ready_video_is_listed_is_the_contracts_table() {
        let (owner, other) = (UserId::new(), UserId::new());
        for (visibility, anonymous, another, own, feed) in LISTED {
            let v = Exposure {
                author: &owner,
                status: VideoStatus::Ready,
                visibility,
            };
            let author_list = |viewer| v.listed(viewer, Listing::Author);
            assert_eq!(author_list(Viewer::Anonymous), anonymous, "{visibility:?}");
            assert_eq!(
                author_list(Viewer::SignedIn(&other)),
                another,
                "{visibility:?}"
            );
            assert_eq!(author_list(Viewer::SignedIn(&owner)), own, "{visibility:?}");
            for viewer in [
                Viewer::Anonymous,
                Viewer::SignedIn(&other),
                Viewer::SignedIn(&owner),
            ] {
                assert_eq!(
                    v.listed(viewer, Listing::Feed),
                    feed,
                    "{visibility:?} {viewer:?}"
                );
            }
        }
    }

    #[test]
    fn pending_and_rejected_videos_are_their_owners_alone() {
        let (owner, other) = (UserId::new(), UserId::new());
        for status in [VideoStatus::Pending, VideoStatus::Rejected] {
            for visibility in [Public, Unlisted, Internal, Private] {
                let v = Exposure {
                    author: &owner,
                    status,
                    visibility,
                };
                assert_eq!(v.access(Viewer::SignedIn(&owner)), Read);
                assert!(v.listed(Viewer::SignedIn(&owner), Listing::Author));
                for viewer in [Viewer::Anonymous, Viewer::SignedIn(&other)] {
                    assert_eq!(v.access(viewer), Hidden, "{status:?} {visibility:?}");
                    assert!(!v.listed(viewer, Listing::Author));
                    assert!(!v.listed(viewer, Listing::Feed));
                }
            }
        }
    }

    #[test]
    fn what_stores_filter_author_lists_by_is_the_decision() {
        let (owner, other) = (UserId::new(), UserId::new());
        let statuses = [
            VideoStatus::Pending,
            VideoStatus::Ready,
            VideoStatus::Rejected,
        ];
        for viewer in [
            Viewer::Anonymous,
            Viewer::SignedIn(&other),
            Viewer::SignedIn(&owner),
        ] {
            let audience = Audience::of(viewer, &owner);
            for status in statuses {
                for visibility in [Public, Unlisted, Internal, Private] {
                    let v = Exposure {
                        author: &owner,
                        status,
                        visibility,
                    };
                    let filtered = match audience.shows() {
                        None => true,
                        Some(shown) => status == VideoStatus::Ready && shown.contains(&visibility),
                    };
                    assert_eq!(
                        filtered,
                        v.listed(viewer, Listing::Author),
                        "{viewer:?} {status:?} {visibility:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn visibilities_parse_as_written_and_default_to_internal() {
        for v in [Public, Unlisted, Internal, Private] {
            assert_eq!(Visibility::parse(v.as_str()), Ok(v));
        }
        assert!(Visibility::parse("Public").is_err());
        assert!(Visibility::parse("").is_err());
        assert_eq!(Visibility::default(), Internal);
    }
}
