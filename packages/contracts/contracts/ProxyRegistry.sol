// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IProxyRegistry} from "./interfaces/IProxyRegistry.sol";

/// @title ProxyRegistry
/// @notice See {IProxyRegistry}.
contract ProxyRegistry is IProxyRegistry {
    /// @inheritdoc IProxyRegistry
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;

    mapping(address operator => Proxy proxy) private _proxies;

    /// @inheritdoc IProxyRegistry
    function registerProxy(bytes calldata publicKey, string calldata endpoint) external {
        Proxy storage proxy = _proxies[msg.sender];
        if (proxy.registeredAt != 0) revert ProxyAlreadyRegistered(msg.sender);
        _setKeyAndEndpoint(proxy, publicKey, endpoint);
        proxy.registeredAt = uint40(block.timestamp);
        emit ProxyRegistered(msg.sender, publicKey, endpoint);
    }

    /// @inheritdoc IProxyRegistry
    function updateProxy(bytes calldata publicKey, string calldata endpoint) external {
        Proxy storage proxy = _activeProxy(msg.sender);
        _setKeyAndEndpoint(proxy, publicKey, endpoint);
        emit ProxyUpdated(msg.sender, publicKey, endpoint);
    }

    /// @inheritdoc IProxyRegistry
    function retireProxy() external {
        _activeProxy(msg.sender).retired = true;
        emit ProxyRetired(msg.sender);
    }

    /// @inheritdoc IProxyRegistry
    function getProxy(address operator) external view returns (Proxy memory) {
        return _proxies[operator];
    }

    /// @inheritdoc IProxyRegistry
    function isActiveProxy(address operator) external view returns (bool) {
        Proxy storage proxy = _proxies[operator];
        return proxy.registeredAt != 0 && !proxy.retired;
    }

    function _activeProxy(address operator) private view returns (Proxy storage proxy) {
        proxy = _proxies[operator];
        if (proxy.registeredAt == 0 || proxy.retired) revert ProxyNotActive(operator);
    }

    function _setKeyAndEndpoint(Proxy storage proxy, bytes calldata publicKey, string calldata endpoint) private {
        if (publicKey.length != 33 || (publicKey[0] != 0x02 && publicKey[0] != 0x03)) {
            revert InvalidPublicKey(publicKey.length, publicKey.length == 0 ? bytes1(0) : publicKey[0]);
        }
        uint256 length = bytes(endpoint).length;
        if (length == 0 || length > MAX_ENDPOINT_LENGTH) revert InvalidEndpointLength(length, MAX_ENDPOINT_LENGTH);
        proxy.publicKeyX = bytes32(publicKey[1:33]);
        proxy.publicKeyPrefix = publicKey[0];
        proxy.endpoint = endpoint;
    }
}
