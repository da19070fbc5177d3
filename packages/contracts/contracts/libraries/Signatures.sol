// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Signatures
/// @notice Checks that `signer` signed an EIP-712 digest: ERC-1271 for contracts, ECDSA for accounts.
library Signatures {
    /// @dev Half the secp256k1 order: larger `s` values are the malleable twin of a valid signature (EIP-2).
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;

    /// @notice Whether `signature` is `signer`'s signature of `digest`; false for the zero signer. An account's
    /// signature is 65 bytes (r, s, v) or 64 bytes (r, vs; EIP-2098); anything else goes to ERC-1271.
    /// @dev ECDSA first: an account's check then never pays the cold EXTCODESIZE (2,600 gas) that the ERC-1271
    /// fallback needs. Only the holder of an address's key can pass the ECDSA check (for an EIP-7702 account
    /// that is its owner), so trying it first accepts nothing that the account did not sign.
    function isValid(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        if (signer == address(0)) return false;
        uint256 length = signature.length;
        if (length == 65 || length == 64) {
            bytes32 r = bytes32(signature[0:32]);
            bytes32 s = bytes32(signature[32:64]);
            uint8 v;
            if (length == 65) {
                v = uint8(signature[64]);
                if (v < 27) v += 27;
            } else {
                // EIP-2098 compact form (r, yParity ‖ s): 32 bytes less calldata. The same low-s rule applies.
                v = uint8(uint256(s) >> 255) + 27;
                s = bytes32(uint256(s) & ((1 << 255) - 1));
            }
            if (uint256(s) <= HALF_ORDER && (v == 27 || v == 28) && ecrecover(digest, v, r, s) == signer) {
                return true;
            }
        }
        if (signer.code.length == 0) return false;
        (bool ok, bytes memory result) = signer.staticcall(abi.encodeWithSelector(ERC1271_MAGIC, digest, signature));
        return ok && result.length >= 32 && abi.decode(result, (bytes4)) == ERC1271_MAGIC;
    }
}
