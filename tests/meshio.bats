#!/usr/bin/env bats
# Mesh I/O as a user checks it: the Khronos validator on every GLB we write,
# assimp on every OBJ, PLY and STL, and clear refusals of malformed files.
load test_helper

DATA="$ROOT/tests/data/meshes"

meshtool() { "$TOOLS/meshtool" "$@"; }

# "Vertices:" / "Faces:" from `assimp info -r` (raw import, no post-processing).
assimp_count() { # FILE FIELD
    assimp info "$1" -r 2>/dev/null | awk -v f="$2:" '$1 == f { print $2; exit }'
}

stats_field() { # FILE FIELD
    meshtool stats "$1" | jq -r ".$2"
}

@test "every GLB written passes the glTF validator: textured, untextured, colours, bare" {
    for kind in sphere cube torus; do
        meshtool make "$kind" "$kind-tex.glb" --texture
        meshtool make "$kind" "$kind-plain.glb"
        meshtool make "$kind" "$kind-col.glb" --colors --no-uvs
        meshtool make "$kind" "$kind-bare.glb" --no-uvs --no-normals
    done
    run gltf_validate ./*.glb
    assert_success
    [ "$(printf '%s\n' "$output" | jq -s 'length')" -eq 12 ]
    printf '%s\n' "$output" | jq -e -s 'all(.[]; .errors == 0 and .warnings == 0)'
    # the textured ones really carry their embedded image, the others none
    printf '%s\n' "$output" | jq -e -s 'all(.[]; (.file | test("-tex")) == (.textures == 1))'
}

@test "GLB converted from OBJ, PLY and STL passes the validator" {
    meshtool make sphere s.obj --texture
    meshtool make torus t.ply --colors
    meshtool make cube c.stl
    for f in s.obj t.ply c.stl "$DATA/quads-negative.obj"; do
        meshtool convert "$f" "$(basename "$f").glb"
    done
    run gltf_validate ./*.glb
    assert_success
    printf '%s\n' "$output" | jq -e -s 'length == 4 and all(.[]; .errors == 0 and .warnings == 0)'
}

@test "assimp reads every PLY written with its vertex and face counts" {
    for kind in sphere cube torus; do
        meshtool make "$kind" "$kind.ply" --colors
        tris=$(stats_field "$kind.ply" triangles)
        verts=$(grep -a -m1 '^element vertex' "$kind.ply" | awk '{print $3}')
        [ "$verts" -eq "$(stats_field "$kind.ply" vertices)" ]
        [ "$(assimp_count "$kind.ply" Faces)" -eq "$tris" ]
        [ "$(assimp_count "$kind.ply" Vertices)" -eq "$verts" ]
    done
}

@test "assimp reads every OBJ written with its face count and one vertex per corner" {
    for kind in sphere cube torus; do
        meshtool make "$kind" "$kind.obj"
        tris=$(grep -c '^f ' "$kind.obj")
        [ "$tris" -eq "$(stats_field "$kind.obj" triangles)" ]
        [ "$(assimp_count "$kind.obj" Faces)" -eq "$tris" ]
        # assimp's OBJ importer gives each face corner its own vertex
        [ "$(assimp_count "$kind.obj" Vertices)" -eq $((3 * tris)) ]
    done
}

@test "a textured OBJ comes with its MTL and PNG, which assimp finds" {
    meshtool make sphere globe.obj --texture
    assert_file_exists globe.mtl
    assert_file_exists globe.texture.png
    [ "$(head -c 8 globe.texture.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
    grep -q '^mtllib globe.mtl' globe.obj
    grep -q '^map_Kd globe.texture.png' globe.mtl
    run assimp info globe.obj -r
    assert_success
    assert_output --partial "'globe.texture.png'"
}

@test "assimp reads every STL written with its face count" {
    for kind in sphere cube torus; do
        meshtool make "$kind" "$kind.stl"
        tris=$(stats_field "$kind.stl" triangles)
        [ "$(stat -c %s "$kind.stl")" -eq $((84 + 50 * tris)) ]
        [ "$(assimp_count "$kind.stl" Faces)" -eq "$tris" ]
        [ "$(assimp_count "$kind.stl" Vertices)" -eq $((3 * tris)) ]
    done
}

@test "round trip through every format keeps triangles and the bounding box" {
    meshtool make torus start.glb --texture
    want_tris=$(stats_field start.glb triangles)
    want_bbox=$(stats_field start.glb bbox | jq -c '[.[][] * 10000 | round]')
    prev=start.glb
    for ext in ply obj stl glb; do
        meshtool convert "$prev" "step.$ext"
        [ "$(stats_field "step.$ext" triangles)" -eq "$want_tris" ]
        [ "$(stats_field "step.$ext" bbox | jq -c '[.[][] * 10000 | round]')" = "$want_bbox" ]
        prev=step.$ext
    done
    # STL import is welded: the torus comes back watertight
    [ "$(stats_field step.stl watertight)" = true ]
}

@test "topology numbers of a cube, and of hand-made OBJ and STL files" {
    meshtool make cube cube.stl
    run meshtool stats cube.stl
    assert_success
    echo "$output" | jq -e '.watertight and .volume == 1 and .area == 6 and .components == 1 and .boundary == 0'
    run meshtool stats "$DATA/quads-negative.obj"
    assert_success
    echo "$output" | jq -e '.triangles == 12 and .vertices == 8 and .watertight and .volume == 1'
    # binary STL whose header starts with "solid" is read as binary
    run meshtool stats "$DATA/solid-binary.stl"
    assert_success
    echo "$output" | jq -e '.triangles == 12 and .vertices == 8 and .watertight'
}

@test "malformed meshes are refused with a non-zero exit and a message naming the file" {
    for f in truncated.glb lying-chunk.glb truncated.ply index-range.ply nan.obj count.stl empty.stl; do
        run meshtool stats "$DATA/$f"
        assert_failure 1
        assert_output --partial "$f:"
        assert_output --partial "bad_mesh"
        run meshtool convert "$DATA/$f" out.glb
        assert_failure
        assert_file_not_exists out.glb
    done
    run meshtool stats "$DATA/lying-chunk.glb"
    assert_output --partial "chunk length"
    run meshtool stats "$DATA/index-range.ply"
    assert_output --partial "vertex 3"
}

@test "a missing file is an I/O error naming it; an unknown extension is refused" {
    run meshtool stats no-such-file.glb
    assert_failure 66
    assert_output --partial "no-such-file.glb"
    meshtool make cube cube.glb
    run meshtool convert cube.glb cube.xyz
    assert_failure
    assert_output --partial "bad_format"
    assert_file_not_exists cube.xyz
}

@test "writes are atomic: no temporary file is left beside the output" {
    meshtool make sphere a.glb --texture
    meshtool make sphere a.obj --texture
    run meshtool convert a.glb no-such-dir/b.glb
    assert_failure
    [ -z "$(find . -name '*.tmp*')" ]
    [ "$(ls | sort | tr '\n' ' ')" = "a.glb a.mtl a.obj a.texture.png " ]
}
