"""Gallery: everyone the run identifies (trained classes and people enrolled later), enroll someone
from a few uploaded images or everyone in a folder under the data roots, remove someone; no
training, no weight changes."""

from __future__ import annotations

import loaders
import messages
import pickers
import roots
import streamlit as st
import widgets

import siamese
from siamese.gallery.enroll import ENROLLED, TRAINED
from siamese.gallery.store import MAX_NAME

THUMBNAILS = 3
COLUMNS = 4

st.title("Gallery")
run = pickers.require_run()
if run is None or not pickers.require_representatives(run):
    st.stop()

try:
    people = run.gallery()
except siamese.SiameseError as exc:
    st.error(f"The gallery of run {run.name} cannot be read: {messages.user_message(exc)}.")
    st.stop()
enrolled = [p for p in people if p.kind == ENROLLED]
st.caption(
    f"{len(people)} people: {len(people) - len(enrolled)} the network trained on, {len(enrolled)} enrolled afterwards. "
    "Enrolling adds a person from a few images without training: the network measures distances, so their images' "
    "embeddings are enough. Probe and Evaluate use the gallery at once, with the run's threshold."
)

notice = st.session_state.pop(f"gallery_notice:{run.path}", None)
if notice:
    st.success(notice, icon=":material/check_circle:")

enroll_tab, folder_tab, remove_tab = st.tabs(["Enroll a person", "Enroll from a folder", "Remove a person"])
with enroll_tab:
    round_ = st.session_state.get(f"gallery_round:{run.path}", 0)  # a new key empties the inputs after enrolling
    name = st.text_input("Name", key=f"gallery_name:{run.path}:{round_}", max_chars=MAX_NAME,
                         help="The name a probe of this person is identified by; it may not be a trained class, someone enrolled, or 'unknown'.")
    uploads = st.file_uploader(
        "Reference images of the person", accept_multiple_files=True, key=f"gallery_upload:{run.path}:{round_}",
        help=f"Three to five images of the face work best (PNG, JPEG, BMP, TIFF or .npy thermal frames, up to "
             f"{widgets.MAX_UPLOAD_BYTES // (1024 * 1024)} MB each). They are read in memory; a copy is kept in the run folder only.",
    )
    if st.button("Enroll", type="primary", disabled=not name or not uploads, key=f"gallery_enroll:{run.path}"):
        too_big = [f.name for f in uploads if f.size > widgets.MAX_UPLOAD_BYTES]
        if too_big:
            st.error(f"{too_big[0]} is more than the {widgets.MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit; choose smaller images.")
        else:
            try:
                with st.spinner(f"Embedding {len(uploads)} images of {name}..."):
                    siamese.enroll(run, name, [(f.name, f.getvalue()) for f in uploads])
            except siamese.SiameseError as exc:
                st.error(f"{name} was not enrolled: {messages.user_message(exc)}.")
            else:
                st.session_state[f"gallery_round:{run.path}"] = round_ + 1
                st.session_state[f"gallery_notice:{run.path}"] = (
                    f"Enrolled {name} from {len(uploads)} image{'s' if len(uploads) != 1 else ''}. The Probe page identifies them now."
                )
                st.rerun()

with folder_tab:
    st.caption("One sub-folder of images per person, named as the person; the folder is only read. "
               "Folders are chosen from the dashboard's data folders (dashboard.toml lists more).")
    folder = pickers.dataset_select("Folder of people", key=f"gallery_folder:{run.path}", default=None, placeholder="Choose a folder")
    listing = loaders.scan(str(folder)) if folder is not None else None
    if listing is not None:
        counts = [int((listing.labels == i).sum()) for i in range(len(listing.class_names))]
        st.markdown(messages.plain(
            f"{len(listing.class_names)} people, {sum(counts)} images: "
            + pickers.name_list([f"{name} ({n})" for name, n in zip(listing.class_names, counts)])
        ))
    if st.button("Enroll everyone in the folder", type="primary", disabled=folder is None, key=f"gallery_enroll_folder:{run.path}"):
        shown = roots.display_path(folder)
        try:
            with st.spinner(f"Embedding the images in {shown}..."):
                added = siamese.enroll_folder(run, folder)
        except siamese.SiameseError as exc:
            st.error(f"Nobody was enrolled: {messages.user_message(exc)}.")
        else:
            st.session_state[f"gallery_notice:{run.path}"] = (
                f"Enrolled {messages.plain(pickers.name_list([p.name for p in added]))} from {messages.plain(shown)}. The Probe page identifies them now."
            )
            st.rerun()

with remove_tab:
    if not enrolled:
        st.info("Nobody is enrolled yet. The trained classes stay until the run is trained again without them.")
    else:
        who = st.selectbox("Person", [p.name for p in enrolled], key=f"gallery_remove:{run.path}")
        sure = st.checkbox(f"Yes, remove {who} from this run's gallery", key=f"gallery_sure:{run.path}:{who}")
        if st.button("Remove", disabled=not sure, key=f"gallery_remove_button:{run.path}"):
            try:
                siamese.unenroll(run, who)
            except siamese.SiameseError as exc:
                st.error(f"{who} was not removed: {messages.user_message(exc)}.")
            else:
                st.session_state[f"gallery_notice:{run.path}"] = f"Removed {who}; probes of them are now rejected as unknown."
                st.rerun()

st.subheader("People")
palette = widgets.palette_choice()
for start in range(0, len(people), COLUMNS):
    for cell, person in zip(st.columns(COLUMNS), [*enrolled, *(p for p in people if p not in enrolled)][start : start + COLUMNS]):
        with cell, st.container(border=True):
            count = "images not counted" if person.n_images is None else f"{person.n_images} image{'s' if person.n_images != 1 else ''}"
            when = f" · {widgets.human_date(person.enrolled)}" if person.enrolled else ""
            st.markdown(f"**{person.name}**  \n:{'orange' if person.kind != TRAINED else 'gray'}-badge[{person.kind}] {count}{when}")
            shown = [str(p) for p in person.images[:THUMBNAILS]]
            widgets.image_row(shown, ["" for _ in shown], palette=palette, width=48, pixels=run.pixels)
